import pytest

from projects.templatetags.project_tags import render_markdown


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
        '<div onclick="alert(1)">hi</div>',
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.test></iframe>",
        "<style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(source):
    html = render_markdown(source)
    assert "<" + source[1:] not in html
    for tag in ("<script", "<div", "<img", "<svg", "<a ", "<iframe", "<style"):
        assert tag not in html.lower()


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_links_keep_only_safe_schemes(source):
    html = render_markdown(source).lower()
    for scheme in ("javascript", "data:", "vbscript", "&#106;"):
        assert f'href="{scheme}' not in html
    assert "href=" not in html or 'href="http' in html


def test_attribute_lists_cannot_add_event_handlers_or_styles():
    html = render_markdown('Click me\n{: onclick="alert(1)" style="color:red" }')
    assert "onclick" not in html
    assert "style=" not in html


def test_safe_markdown_survives_with_links_marked_external():
    html = render_markdown(
        "# Guide\n\n- **bold** and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "[docs](https://example.org/docs) and <https://example.org>"
    )
    assert "<h1>Guide</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<table>" in html
    assert 'href="https://example.org/docs"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_images_are_dropped_so_no_remote_request_is_made():
    assert "<img" not in render_markdown("![tracker](https://evil.test/pixel.png)")
