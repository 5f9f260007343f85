"""Template helpers of the project pages: safe Markdown, role names."""

from typing import Any

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

from projects.permissions import Need

register = template.Library()

# What instructions may contain: text structure, links, code and tables. No images: a remote
# image would be an outbound request from every annotator's browser.
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "del",
    "code", "pre", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "a", "table", "thead",
    "tbody", "tr", "th", "td", "sup", "sub", "kbd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _converter() -> md.Markdown:
    converter = md.Markdown(extensions=["extra", "sane_lists"], output_format="html")
    # Raw HTML in the source is shown as text instead of passed through: the sanitizer below
    # would catch it, but never letting it in is the stronger guarantee.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that is safe to embed: allowlisted tags and attributes only, links
    restricted to http(s) and mailto, no scripts, event handlers or styles."""
    html = _converter().convert(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - nh3 has just sanitized it against the allowlist


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def role_label(access: Any) -> str:
    """The caller's role on a project as a word: their project role, else "Lab admin"."""
    if access.role is not None:
        return str(access.role.label)
    return "Lab admin" if Need.MANAGE in access.needs else "—"
