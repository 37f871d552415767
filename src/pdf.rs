//! A plain-text PDF writer: pages of left-aligned lines in Helvetica, nothing else — enough for
//! an invoice, with no dependency. Text is written uncompressed, so the document's words can
//! be found in its bytes (and by any PDF reader's text extraction). Characters outside
//! Latin-1 print as `?`.

/// Lines per page (12-point leading on an A4 page with margins).
const LINES_PER_PAGE: usize = 60;

/// A line of text, optionally bold.
#[derive(Clone, Debug)]
pub struct Line {
    pub text: String,
    pub bold: bool,
}

impl Line {
    /// A regular line.
    pub fn plain(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            bold: false,
        }
    }

    /// A bold line.
    pub fn bold(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            bold: true,
        }
    }
}

/// Escapes text for a PDF string literal; characters outside Latin-1 become `?`.
fn literal(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'(');
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (' '..='~').contains(&c) => out.push(c as u8),
            c if ('\u{a0}'..='\u{ff}').contains(&c) => out.push(u32::from(c) as u8),
            _ => out.push(b'?'),
        }
    }
    out.push(b')');
    out
}

fn page_content(lines: &[Line]) -> Vec<u8> {
    let mut content = b"BT\n12 TL\n50 800 Td\n".to_vec();
    let mut bold = None;
    for line in lines {
        if bold != Some(line.bold) {
            let font: &[u8] = if line.bold { b"/F2" } else { b"/F1" };
            content.extend_from_slice(font);
            content.extend_from_slice(b" 10 Tf\n");
            bold = Some(line.bold);
        }
        content.extend_from_slice(&literal(&line.text));
        content.extend_from_slice(b" Tj T*\n");
    }
    content.extend_from_slice(b"ET\n");
    content
}

/// The PDF of `lines`, as many A4 pages as they need, with `title` in its metadata.
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let pages: Vec<&[Line]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(LINES_PER_PAGE).collect()
    };
    // Objects: 1 catalog, 2 pages, 3 regular font, 4 bold font, 5 info, then a page and its
    // content per page.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 6 + 2 * i))
        .collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut info = b"<< /Producer (Emporium) /Title ".to_vec();
    info.extend_from_slice(&literal(title));
    info.extend_from_slice(b" >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                7 + 2 * i
            )
            .into_bytes(),
        );
        let content = page_content(page);
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(&content);
        stream.extend_from_slice(b"endstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_a_pdf_with_its_text_and_a_correct_cross_reference() {
        let lines: Vec<Line> = (0..130)
            .map(|i| Line::plain(format!("Line {i} (with brackets) and a back\\slash")))
            .collect();
        let pdf = document("Invoice", &lines);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Count 3"), "130 lines need three pages");
        assert!(text.contains("(Line 129 \\(with brackets\\) and a back\\\\slash) Tj"));
        // Every offset in the table points at its object (offsets count bytes).
        let at = |offset: usize, expected: &str| pdf[offset..].starts_with(expected.as_bytes());
        let tail = String::from_utf8_lossy(&pdf[pdf.len() - 40..]).into_owned();
        let start: usize = tail
            .split("startxref\n")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref offset");
        assert!(at(start, "xref"));
        let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
        for (i, entry) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = entry[..10].parse().expect("offset");
            assert!(at(offset, &format!("{} 0 obj", i + 1)), "{entry}");
        }
    }

    #[test]
    fn text_outside_latin1_prints_as_a_question_mark() {
        assert_eq!(literal("Café €5"), b"(Caf\xe9 ?5)".to_vec());
    }
}
