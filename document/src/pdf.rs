//! The plain-language document as an A4 PDF, using the standard Helvetica fonts every PDF reader
//! has (WinAnsi encoding covers Swedish letters), so nothing is embedded and the file stays small.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::plain::{Block, blocks};
use crate::{Lang, PlanInput};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// Helvetica advance widths (1/1000 em) of ASCII 32..=126, from the font's standard metrics.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// A character in WinAnsiEncoding; `?` for what it cannot show.
fn win_ansi(c: char) -> u8 {
    match c as u32 {
        0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
        _ => match c {
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '\t' | '\n' => b' ',
            _ => b'?',
        },
    }
}

/// Approximate advance width of a WinAnsi byte, in 1/1000 em: accented letters as their base.
fn advance(b: u8) -> u16 {
    let base = match b {
        0x20..=0x7e => b,
        0xc0..=0xc5 => b'A',
        0xc8..=0xcb => b'E',
        0xd2..=0xd6 | 0xd8 => b'O',
        0xe0..=0xe5 => b'a',
        0xe8..=0xeb => b'e',
        0xf2..=0xf6 | 0xf8 => b'o',
        0xfc => b'u',
        0x95 => b'-',
        0x96 | 0x97 => b'N',
        _ => b'n',
    };
    HELVETICA[(base - 0x20) as usize]
}

fn width(s: &[u8], size: f32, bold: bool) -> f32 {
    let w: u32 = s.iter().map(|b| u32::from(advance(*b))).sum();
    w as f32 / 1000.0 * size * if bold { 1.06 } else { 1.0 }
}

/// Breaks text into lines no wider than `max` points.
fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line: Vec<u8> = Vec::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let w: Vec<u8> = word.chars().map(win_ansi).collect();
            let mut candidate = line.clone();
            if !candidate.is_empty() {
                candidate.push(b' ');
            }
            candidate.extend_from_slice(&w);
            if width(&candidate, size, bold) <= max || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = w;
            }
        }
        lines.push(line);
    }
    lines
}

#[derive(Clone, Copy)]
enum Font {
    Regular,
    Bold,
    Italic,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
            Font::Italic => Name(b"F3"),
        }
    }
}

struct Layout {
    pages: Vec<Content>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: HEIGHT - MARGIN,
        }
    }

    fn space(&mut self, pts: f32) {
        self.y -= pts;
    }

    /// Writes wrapped text, starting new pages as needed.
    fn text(&mut self, text: &str, font: Font, size: f32, indent: f32, bullet: bool) {
        let leading = size * 1.35;
        let max = WIDTH - 2.0 * MARGIN - indent;
        for (i, line) in wrap(text, size, matches!(font, Font::Bold), max)
            .into_iter()
            .enumerate()
        {
            if self.y - leading < MARGIN {
                self.pages.push(Content::new());
                self.y = HEIGHT - MARGIN;
            }
            self.y -= leading;
            let page = self.pages.last_mut().expect("a page");
            if bullet && i == 0 {
                page.begin_text();
                page.set_font(Font::Regular.name(), size);
                page.next_line(MARGIN + indent - 10.0, self.y);
                page.show(Str(&[0x95]));
                page.end_text();
            }
            page.begin_text();
            page.set_font(font.name(), size);
            page.next_line(MARGIN + indent, self.y);
            page.show(Str(&line));
            page.end_text();
        }
    }
}

/// The plan in plain words as a PDF.
pub fn pdf(input: &PlanInput<'_>, lang: Lang) -> Vec<u8> {
    let blocks = blocks(input, lang);
    let mut l = Layout::new();
    let mut title = String::new();
    for b in &blocks {
        match b {
            Block::Title(t) => {
                title = t.clone();
                l.text(t, Font::Bold, 22.0, 0.0, false);
                l.space(8.0);
            }
            Block::Warning(t) => {
                l.space(4.0);
                l.text(t, Font::Bold, 11.0, 0.0, false);
                l.space(8.0);
            }
            Block::Heading(t) => {
                l.space(12.0);
                l.text(t, Font::Bold, 15.0, 0.0, false);
                l.space(3.0);
            }
            Block::Subheading(t) => {
                l.space(6.0);
                l.text(t, Font::Bold, 12.0, 0.0, false);
            }
            Block::Para(t) => {
                l.text(t, Font::Regular, 11.0, 0.0, false);
                l.space(4.0);
            }
            Block::Field { label, value, .. } => l.text(
                &format!("{label}: {value}"),
                Font::Regular,
                11.0,
                0.0,
                false,
            ),
            Block::Item(t) => l.text(t, Font::Regular, 11.0, 14.0, true),
            Block::Quote(t) => {
                l.text(
                    &crate::words::quote(lang, t),
                    Font::Italic,
                    11.0,
                    14.0,
                    false,
                );
                l.space(4.0);
            }
            Block::Note(t) => {
                l.space(8.0);
                l.text(t, Font::Regular, 9.0, 0.0, false);
            }
        }
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [Ref::new(3), Ref::new(4), Ref::new(5)];
    let info = Ref::new(6);
    let n = l.pages.len() as i32;
    let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(7 + 2 * i)).collect();
    pdf.catalog(catalog).pages(tree).lang(TextStr(lang.tag()));
    pdf.pages(tree).kids(page_ids.iter().copied()).count(n);
    for (i, content) in l.pages.into_iter().enumerate() {
        let id = page_ids[i];
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        let mut res = page.resources();
        let mut f = res.fonts();
        f.pair(Font::Regular.name(), fonts[0]);
        f.pair(Font::Bold.name(), fonts[1]);
        f.pair(Font::Italic.name(), fonts[2]);
        f.finish();
        res.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    for (id, base) in fonts.iter().zip([
        &b"Helvetica"[..],
        &b"Helvetica-Bold"[..],
        &b"Helvetica-Oblique"[..],
    ]) {
        pdf.type1_font(*id)
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(&title))
        .creator(TextStr("Kronobarn"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_letters_are_win_ansi() {
        let s: Vec<u8> = "åäöÅÄÖé–".chars().map(win_ansi).collect();
        assert_eq!(s, [0xe5, 0xe4, 0xf6, 0xc5, 0xc4, 0xd6, 0xe9, 0x96]);
        assert_eq!(win_ansi('漢'), b'?');
    }

    /// Every letter of the family's documents, warnings and quotation marks included, has a
    /// WinAnsi code: nothing turns into "?".
    #[test]
    fn the_documents_are_all_win_ansi() {
        let f = crate::fixture::Fixture::family();
        let mut input = f.input();
        input.protected_identity = true;
        for lang in [Lang::Sv, Lang::En] {
            for b in blocks(&input, lang) {
                let s = format!("{b:?}");
                for c in s.chars().filter(|c| *c != '?') {
                    assert_ne!(win_ansi(c), b'?', "{c:?} in {s}");
                }
            }
        }
        assert_eq!(win_ansi('”'), 0x94);
        assert_eq!(win_ansi('§'), 0xa7);
        assert!(pdf(&input, Lang::Sv).starts_with(b"%PDF-"));
    }

    #[test]
    fn lines_fit_the_page() {
        let text = "Barnet behöver stöd i skolan och hemma. ".repeat(40);
        let lines = wrap(&text, 11.0, false, 483.0);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(width(l, 11.0, false) <= 483.0);
        }
        // Nothing is lost: every word is on some line.
        let joined: usize = lines.iter().map(|l| l.split(|b| *b == b' ').count()).sum();
        assert_eq!(joined, text.split_whitespace().count());
    }
}
