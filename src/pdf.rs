//! A text PDF writer: pages of left-aligned lines, nothing else — enough for an invoice. Text in
//! any script the embedded fonts cover (Latin, Greek, Cyrillic, Devanagari, Arabic, common Han:
//! see `assets/fonts/README.md`) is shaped and drawn with a subset of those fonts holding only
//! the glyphs used, and carries a ToUnicode map so text extraction gives the words as written.
//! A character no font has draws as a placeholder box. Streams are Flate-compressed.

mod embed;
mod fonts;
mod shape;

use std::fmt::Write as _;
use std::io::Write as _;

use embed::FontUse;
use shape::Glyph;

/// Lines per page (12-point leading on an A4 page with margins).
const LINES_PER_PAGE: usize = 60;

/// Font size of every line, in points.
const FONT_SIZE: i32 = 10;

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

/// A PDF text string (UTF-16BE with its byte-order mark, in hex): any character, nothing to
/// escape.
fn text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in shape::clean(text).encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// Flate-compressed `data` (compressing into memory cannot fail).
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::best(),
    );
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The objects of a document, numbered from 1 in the order they are added.
#[derive(Default)]
struct Objects(Vec<Vec<u8>>);

impl Objects {
    /// Adds an object; its number.
    fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        self.0.push(body.into());
        self.0.len()
    }

    /// Sets the body of an object added earlier.
    fn set(&mut self, number: usize, body: impl Into<Vec<u8>>) {
        if let Some(slot) = self.0.get_mut(number - 1) {
            *slot = body.into();
        }
    }

    /// Adds a compressed stream with `entries` in its dictionary.
    fn stream(&mut self, entries: &str, data: &[u8]) -> usize {
        let packed = deflate(data);
        let mut body = format!(
            "<< /Length {} /Filter /FlateDecode{entries} >>\nstream\n",
            packed.len()
        )
        .into_bytes();
        body.extend_from_slice(&packed);
        body.extend_from_slice(b"\nendstream");
        self.add(body)
    }

    /// The file: header, objects, cross-reference table, trailer.
    fn finish(self, root: usize, info: usize) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.0.len());
        for (i, object) in self.0.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(object);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let size = self.0.len() + 1;
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }
}

/// One element of a `TJ` array: glyph codes, or a move left in thousandths of an em.
enum Shown {
    Codes(Vec<u16>),
    Move(i32),
}

/// Writes `[…] TJ` for `shown` and empties it.
fn flush(content: &mut String, shown: &mut Vec<Shown>) {
    if shown.is_empty() {
        return;
    }
    content.push('[');
    for item in shown.drain(..) {
        match item {
            Shown::Codes(codes) => {
                content.push('<');
                for code in codes {
                    let _ = write!(content, "{code:04X}");
                }
                content.push('>');
            }
            Shown::Move(by) => {
                let _ = write!(content, " {by} ");
            }
        }
    }
    content.push_str("] TJ\n");
}

/// Adds a glyph code to `shown`, joining it to the codes before it.
fn push_code(shown: &mut Vec<Shown>, code: u16) {
    if let Some(Shown::Codes(codes)) = shown.last_mut() {
        codes.push(code);
    } else {
        shown.push(Shown::Codes(vec![code]));
    }
}

/// The operators that draw one line's glyphs from the start of the line: a font change where
/// the font changes, glyph codes with moves where the shaped advance or offset differs from the
/// glyph's width, and a text rise for a glyph drawn above or below the line.
fn line_content(
    content: &mut String,
    glyphs: &[Glyph],
    uses: &mut [FontUse],
    font: &mut Option<usize>,
) {
    let mut shown: Vec<Shown> = Vec::new();
    let mut pending = 0;
    for glyph in glyphs {
        let Some(used) = uses.get_mut(glyph.font) else {
            continue;
        };
        if *font != Some(glyph.font) {
            flush(content, &mut shown);
            let _ = writeln!(content, "/F{} {FONT_SIZE} Tf", glyph.font);
            *font = Some(glyph.font);
        }
        let code = used.code(glyph.gid, &glyph.text);
        let dx = used.thousandths(glyph.dx);
        let dy = used.thousandths(glyph.dy);
        let advance = used.thousandths(glyph.advance);
        pending -= dx;
        if dy != 0 {
            if pending != 0 {
                shown.push(Shown::Move(pending));
            }
            flush(content, &mut shown);
            let _ = writeln!(content, "{:.2} Ts", f64::from(dy * FONT_SIZE) / 1000.0);
        } else if pending != 0 {
            shown.push(Shown::Move(pending));
        }
        push_code(&mut shown, code);
        if dy != 0 {
            flush(content, &mut shown);
            content.push_str("0 Ts\n");
        }
        pending = used.width(glyph.gid) + dx - advance;
    }
    if pending != 0 {
        shown.push(Shown::Move(pending));
    }
    flush(content, &mut shown);
}

/// A page's content stream: its lines top down, bold ones filled and stroked.
fn page_content(lines: &[(bool, Vec<Glyph>)], uses: &mut [FontUse]) -> Vec<u8> {
    let mut content = String::from("0.3 w\nBT\n12 TL\n50 800 Td\n");
    let mut bold = false;
    let mut font = None;
    for (line_bold, glyphs) in lines {
        if *line_bold != bold {
            content.push_str(if *line_bold { "2 Tr\n" } else { "0 Tr\n" });
            bold = *line_bold;
        }
        line_content(&mut content, glyphs, uses, &mut font);
        content.push_str("T*\n");
    }
    content.push_str("ET\n");
    content.into_bytes()
}

/// Adds the objects of one embedded font; the number of its Type 0 font, or `None` when its
/// subset cannot be made.
fn add_font(objects: &mut Objects, used: &FontUse) -> Option<usize> {
    let (program, gids) = used.subset()?;
    let name = used.base_name();
    let file = objects.stream(&format!(" /Length1 {}", program.len()), &program);
    let gid_map: Vec<u8> = gids.iter().flat_map(|g| g.to_be_bytes()).collect();
    let cid_to_gid = objects.stream("", &gid_map);
    let to_unicode = objects.stream("", used.to_unicode().as_bytes());
    let descriptor = objects.add(format!(
        "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /ItalicAngle 0 /StemV 80 {} /FontFile2 {file} 0 R >>",
        used.metrics()
    ));
    let cid_font = objects.add(format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /DW 0 /W {} /CIDToGIDMap {cid_to_gid} 0 R >>",
        used.widths()
    ));
    Some(objects.add(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H /DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>"
    )))
}

/// The PDF of `lines`, as many A4 pages as they need, with `title` in its metadata.
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let shaped: Vec<(bool, Vec<Glyph>)> = lines
        .iter()
        .map(|line| (line.bold, shape::line(&line.text)))
        .collect();
    let pages: Vec<&[(bool, Vec<Glyph>)]> = if shaped.is_empty() {
        vec![&[]]
    } else {
        shaped.chunks(LINES_PER_PAGE).collect()
    };
    let mut uses: Vec<FontUse> = (0..fonts::FACES.len()).map(FontUse::new).collect();
    let contents: Vec<Vec<u8>> = pages
        .iter()
        .map(|page| page_content(page, &mut uses))
        .collect();

    let mut objects = Objects::default();
    let catalog = objects.add(Vec::new());
    let tree = objects.add(Vec::new());
    let info = objects.add(format!(
        "<< /Producer (Emporium) /Title {} >>",
        text_string(title)
    ));
    let mut resources = String::new();
    for used in uses.iter().filter(|u| !u.is_empty()) {
        if let Some(number) = add_font(&mut objects, used) {
            let _ = write!(resources, "/F{} {number} 0 R ", used.font);
        }
    }
    let mut kids = Vec::with_capacity(pages.len());
    for content in &contents {
        let stream = objects.stream("", content);
        kids.push(format!(
            "{} 0 R",
            objects.add(format!(
                "<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 595 842] /Resources << /Font << {resources}>> >> /Contents {stream} 0 R >>"
            ))
        ));
    }
    objects.set(catalog, format!("<< /Type /Catalog /Pages {tree} 0 R >>"));
    objects.set(
        tree,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            kids.len()
        ),
    );
    objects.finish(catalog, info)
}

#[cfg(test)]
mod tests;
