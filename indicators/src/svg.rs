//! Horizontal bar charts as inline SVG, rendered on the server: one bar per row with its label
//! above it and its value beside it, so a narrow phone screen shows every word. No script, no
//! external resources; every text escaped.

/// Escapes text for HTML and SVG (element content and attribute values).
pub(crate) fn esc(s: &str) -> String {
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

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    /// What the bar is for.
    pub label: String,
    /// The bar's length in the chart's unit; `None` when withheld.
    pub value: Option<f64>,
    /// A lighter bar behind it (the 90th percentile), when there is one.
    pub behind: Option<f64>,
    /// The value in words, written beside the bar.
    pub text: String,
}

const WIDTH: f64 = 320.0;
const BAR_SPACE: f64 = 300.0;
const LINE: f64 = 15.0;
/// Characters of 12-pixel text that fit on one line of the chart.
const FITS: usize = 46;

/// Text split into lines that fit, at spaces where possible.
fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > FITS {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

/// A chart with a title (read by screen readers) and bars scaled so `max` fills the width. Each
/// bar is three things stacked: its label, its value in words, the bar.
pub(crate) fn bar_chart(id: &str, title: &str, bars: &[Bar], max: f64) -> String {
    let scale = |v: f64| {
        if max > 0.0 {
            (v / max * BAR_SPACE).clamp(0.0, BAR_SPACE)
        } else {
            0.0
        }
    };
    let mut body = String::new();
    let mut y = 0.0;
    for bar in bars {
        for l in lines(&bar.label) {
            y += LINE;
            body.push_str(&format!(
                "<text x=\"0\" y=\"{y:.1}\" fill=\"#1a1a1a\" font-weight=\"600\">{}</text>\n",
                esc(&l)
            ));
        }
        let italic = if bar.value.is_some() {
            ""
        } else {
            " font-style=\"italic\""
        };
        for l in lines(&bar.text) {
            y += LINE;
            body.push_str(&format!(
                "<text x=\"0\" y=\"{y:.1}\" fill=\"#333\"{italic}>{}</text>\n",
                esc(&l)
            ));
        }
        let top = y + 5.0;
        for (v, colour) in [(bar.behind, "#c9d9ec"), (bar.value, "#2f6aa8")] {
            if let Some(v) = v {
                body.push_str(&format!(
                    "<rect x=\"0\" y=\"{top:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{colour}\"/>\n",
                    scale(v)
                ));
            }
        }
        y = top + 14.0 + 10.0;
    }
    format!(
        "<svg role=\"img\" aria-labelledby=\"{id}-title\" viewBox=\"0 0 {WIDTH} {:.1}\" \
width=\"100%\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n\
<title id=\"{id}-title\">{}</title>\n{body}</svg>\n",
        y.max(LINE),
        esc(title),
        id = esc(id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let svg = bar_chart(
            "c\"1",
            "T<i>tle",
            &[Bar {
                label: "<b>".into(),
                value: None,
                behind: None,
                text: "a&b".into(),
            }],
            1.0,
        );
        assert!(!svg.contains("<b>") && !svg.contains("<i>") && !svg.contains("c\"1"));
        assert!(svg.contains("&lt;b&gt;") && svg.contains("a&amp;b"));
    }

    #[test]
    fn bars_are_scaled_to_the_largest_value() {
        let bars = [
            Bar {
                label: "a".into(),
                value: Some(10.0),
                behind: Some(20.0),
                text: "10".into(),
            },
            Bar {
                label: "b".into(),
                value: Some(5.0),
                behind: None,
                text: "5".into(),
            },
        ];
        let svg = bar_chart("c", "t", &bars, 20.0);
        // 10 of 20 is half the bar space (150), 20 of 20 all of it (300), 5 a quarter (75).
        assert!(svg.contains("width=\"150.0\""));
        assert!(svg.contains("width=\"300.0\""));
        assert!(svg.contains("width=\"75.0\""));
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn long_labels_wrap_at_spaces() {
        let label = "Uppvidinge – Region Kronoberg, barn- och ungdomspsykiatrin i länet";
        let l = lines(label);
        assert_eq!(l.len(), 2);
        assert!(l.iter().all(|x| x.chars().count() <= FITS));
        assert_eq!(l.join(" "), label);
        let svg = bar_chart(
            "c",
            "t",
            &[Bar {
                label: label.into(),
                value: Some(1.0),
                behind: None,
                text: "1".into(),
            }],
            1.0,
        );
        assert_eq!(svg.matches("<text").count(), 3);
    }
}
