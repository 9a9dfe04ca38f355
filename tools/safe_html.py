"""What a printed report lets through of a notebook's HTML, the page's Content-Security-Policy and Chromium's offline
flags (used by tools/build_reports.py).

A notebook's outputs and Markdown are untrusted, as in Jupyter's own trust model: a shared notebook may hold an
<iframe>, <object> or <script> that would print local files or send the title page (names, student IDs) away. Three
layers keep them off the machine: nbconvert's sanitize_html route passes every text/html output, text/markdown
output, Markdown cell and raw cell through `clean` (text, layout, tables, links and data: images only); the page's
policy (`policy`) runs only the scripts carrying the page's nonce (MathJax's loader and configuration, the table
fitting script) and what they load, and allows no frames, objects, forms, network or images but data: URIs; and
Chromium starts with every host name and address mapped to "not found" (`CHROMIUM_FLAGS`).
"""
import secrets

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bs4 import BeautifulSoup

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
        "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"}
ATTRIBUTES = {"*": {"class", "id", "title", "style", "align"}, "a": {"href"}, "img": {"alt", "width", "height"},
              "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"}, "col": {"span"},
              "colgroup": {"span"}, "ol": {"start", "type"}}
DROPPED = ("script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
           "form", "textarea", "select", "link", "meta", "base", "title")  # left out with what they hold
CHROMIUM_FLAGS = ("--host-resolver-rules=MAP * ~NOTFOUND",  # no host name or address resolves: no network at all
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-domain-reliability", "--no-pings", "--disable-extensions", "--no-first-run")


def allowed_attribute(tag, name, value):
    """Whether an attribute stays: the layout attributes in ATTRIBUTES, images only from data: URIs."""
    if tag == "img" and name == "src":
        return value.lstrip().lower().startswith("data:image/")
    if tag == "a" and name == "href":
        return not value.lstrip().lower().startswith("data:")
    return name in ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set())


CLEANER = bleach.Cleaner(tags=TAGS, attributes=allowed_attribute, protocols={"http", "https", "mailto", "data"},
                         strip=True, strip_comments=True, css_sanitizer=CSSSanitizer())


def clean(html):
    """`html` with only text, layout, tables, links and data: images left (the DROPPED elements gone with their
    content, other tags unwrapped, attributes and CSS properties reduced to the allowed ones)."""
    soup = BeautifulSoup(html.decode() if isinstance(html, bytes) else str(html), "html.parser")
    for element in soup.find_all(DROPPED):
        element.decompose()
    return CLEANER.clean(str(soup))


def nonce():
    """A fresh nonce for one page's own scripts."""
    return secrets.token_urlsafe(18)


def policy(page_nonce):
    """The page's Content-Security-Policy: scripts only with `page_nonce` (and what they load), inline styles, images
    from data: URIs, fonts from local files (MathJax's), nothing else: no frames, objects, forms or connections."""
    return ("default-src 'none'; "
            f"script-src 'nonce-{page_nonce}' 'strict-dynamic'; style-src 'unsafe-inline'; img-src data:; "
            "font-src 'self'; base-uri 'none'; form-action 'none'")
