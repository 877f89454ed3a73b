//! The plain-language document as one self-contained HTML page, readable on a phone: no scripts,
//! no external resources, a viewport meta tag and a single narrow column.

use crate::plain::{Block, blocks};
use crate::{Lang, PlanInput};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
max-width:40rem;margin:0 auto;padding:1rem;line-height:1.5;font-size:1.05rem;color:#1a1a1a}\
h1{font-size:1.7rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2rem;\
border-bottom:2px solid #d9e4ef;padding-bottom:.2rem}h3{font-size:1.05rem;margin:1.2rem 0 .3rem}\
blockquote{margin:.5rem 0;padding:.6rem 1rem;background:#f4f7fb;border-left:4px solid #6b93c1;\
font-style:italic}ul{padding-left:1.3rem}li{margin:.3rem 0}p.field{margin:.2rem 0}\
a{color:#0b5cad}small{color:#555;display:block;margin-top:1rem}\
p.warning{margin:1rem 0;padding:.7rem 1rem;background:#fdecea;border:2px solid #b3261e;\
border-radius:.3rem;color:#5f1410}";

/// The plan in plain words as an HTML page.
pub fn html(input: &PlanInput<'_>, lang: Lang) -> String {
    let blocks = blocks(input, lang);
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Title(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut o = format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        lang.tag(),
        esc(&title)
    );
    let mut in_list = false;
    for b in &blocks {
        let item = matches!(b, Block::Item(_));
        if in_list && !item {
            o.push_str("</ul>\n");
            in_list = false;
        }
        if item && !in_list {
            o.push_str("<ul>\n");
            in_list = true;
        }
        match b {
            Block::Title(t) => o.push_str(&format!("<h1>{}</h1>\n", esc(t))),
            Block::Warning(t) => o.push_str(&format!(
                "<p class=\"warning\" role=\"alert\"><strong>{}</strong></p>\n",
                esc(t)
            )),
            Block::Heading(t) => o.push_str(&format!("<h2>{}</h2>\n", esc(t))),
            Block::Subheading(t) => o.push_str(&format!("<h3>{}</h3>\n", esc(t))),
            Block::Para(t) => o.push_str(&format!("<p>{}</p>\n", esc(t))),
            Block::Field { label, value, href } => o.push_str(&match href {
                Some(h) => format!(
                    "<p class=\"field\">{}: <a href=\"{}\">{}</a></p>\n",
                    esc(label),
                    esc(h),
                    esc(value)
                ),
                None => format!("<p class=\"field\">{}: {}</p>\n", esc(label), esc(value)),
            }),
            Block::Item(t) => o.push_str(&format!("<li>{}</li>\n", esc(t))),
            Block::Quote(t) => o.push_str(&format!(
                "<blockquote>{}</blockquote>\n",
                esc(&crate::words::quote(lang, t))
            )),
            Block::Note(t) => o.push_str(&format!("<small>{}</small>\n", esc(t))),
        }
    }
    if in_list {
        o.push_str("</ul>\n");
    }
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
