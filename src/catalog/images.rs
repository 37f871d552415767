//! Checking uploaded images by their content: the magic bytes and a real decode of the header
//! (dimensions and the format's own fields), never the file name or the declared type; then the
//! pixels themselves, decoded under limits ([`decode`]) to make the image's sizes ([`sizes`]).
//!
//! The header is read by hand, before any decoder runs, so that an image over [`MAX_PIXELS`] is
//! refused without allocating anything for it.

mod decode;
mod shrink;
pub mod sizes;

/// An accepted image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    /// The extension its file is stored with.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }
}

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Most pixels an accepted image may have: 40 megapixels (a 7300 × 5475 photograph).
pub const MAX_PIXELS: u64 = 40_000_000;

/// Longest side an accepted image may have, in pixels.
pub const MAX_SIDE: u32 = 16_384;

impl ImageInfo {
    /// Width × height.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Django's message for anything that is not a readable image.
pub const NOT_AN_IMAGE: &str =
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image.";

fn be16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        bytes.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        bytes.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(u32::from(b[0]) | (u32::from(b[1]) << 8) | (u32::from(b[2]) << 16))
}

fn png(bytes: &[u8]) -> Option<ImageInfo> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.get(12..16)? != b"IHDR"
        || be32(bytes, 8)? != 13
    {
        return None;
    }
    let (width, height) = (be32(bytes, 16)?, be32(bytes, 20)?);
    let (depth, color) = (*bytes.get(24)?, *bytes.get(25)?);
    let valid = matches!(
        (color, depth),
        (0, 1 | 2 | 4 | 8 | 16) | (3, 1 | 2 | 4 | 8) | (2 | 4 | 6, 8 | 16)
    );
    valid.then_some(ImageInfo {
        format: Format::Png,
        width,
        height,
    })
}

fn jpeg(bytes: &[u8]) -> Option<ImageInfo> {
    if !bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return None;
    }
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xff {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            0xff => at += 1,
            0xd8 | 0x01 | 0xd0..=0xd7 => at += 2,
            0xd9 | 0xda => return None, // end or scan data before any frame header
            0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                let (height, width) = (be16(bytes, at + 5)?, be16(bytes, at + 7)?);
                let components = *bytes.get(at + 9)?;
                return (components > 0).then_some(ImageInfo {
                    format: Format::Jpeg,
                    width,
                    height,
                });
            }
            _ => {
                let length = usize::try_from(be16(bytes, at + 2)?).ok()?;
                if length < 2 {
                    return None;
                }
                at += 2 + length;
            }
        }
    }
}

fn webp(bytes: &[u8]) -> Option<ImageInfo> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WEBP" {
        return None;
    }
    let info = |width, height| ImageInfo {
        format: Format::Webp,
        width,
        height,
    };
    match bytes.get(12..16)? {
        b"VP8 " => {
            if bytes.get(23..26)? != [0x9d, 0x01, 0x2a] {
                return None;
            }
            Some(info(le16(bytes, 26)? & 0x3fff, le16(bytes, 28)? & 0x3fff))
        }
        b"VP8L" => {
            if *bytes.get(20)? != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
            Some(info((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some(info(le24(bytes, 24)? + 1, le24(bytes, 27)? + 1)),
        _ => None,
    }
}

/// Reads the header of a JPEG, PNG or WebP file; `None` for anything else (or a broken one).
pub fn inspect(bytes: &[u8]) -> Option<ImageInfo> {
    png(bytes)
        .or_else(|| jpeg(bytes))
        .or_else(|| webp(bytes))
        .filter(|info| info.width > 0 && info.height > 0)
}

/// The header of an upload that may be decoded: `Err` with the client's message for anything
/// that is not an image, or one larger than [`MAX_PIXELS`] or [`MAX_SIDE`] says it is.
pub fn check(bytes: &[u8]) -> Result<ImageInfo, String> {
    let info = inspect(bytes).ok_or_else(|| NOT_AN_IMAGE.to_owned())?;
    if info.pixels() > MAX_PIXELS || info.width.max(info.height) > MAX_SIDE {
        return Err(too_large(info.width, info.height));
    }
    Ok(info)
}

/// The message for an image over the limits.
fn too_large(width: u32, height: u32) -> String {
    format!(
        "Images may have at most {} megapixels and {MAX_SIDE} pixels a side; this one is \
         {width} × {height}.",
        MAX_PIXELS / 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 PNG.
    pub const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn a_png_header_is_decoded() {
        assert_eq!(
            inspect(PNG),
            Some(ImageInfo {
                format: Format::Png,
                width: 1,
                height: 1
            })
        );
    }

    #[test]
    fn a_jpeg_frame_header_is_found_after_other_segments() {
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46];
        jpeg.extend_from_slice(&[
            0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x20, 0x00, 0x40, 0x01, 0x01,
        ]);
        assert_eq!(
            inspect(&jpeg),
            Some(ImageInfo {
                format: Format::Jpeg,
                width: 64,
                height: 32
            })
        );
    }

    #[test]
    fn a_webp_lossless_header_is_decoded() {
        let mut webp = b"RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f".to_vec();
        // width 10, height 20: (w-1) | (h-1) << 14
        let bits: u32 = 9 | (19 << 14);
        webp.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(inspect(&webp).map(|i| (i.width, i.height)), Some((10, 20)));
    }

    #[test]
    fn an_image_over_forty_megapixels_is_refused_from_its_header() {
        let with_size = |width: u32, height: u32| {
            let mut png = PNG.to_vec();
            png[16..20].copy_from_slice(&width.to_be_bytes());
            png[20..24].copy_from_slice(&height.to_be_bytes());
            png
        };
        assert_eq!(
            check(&with_size(8000, 5000)).map(|i| i.pixels()),
            Ok(40_000_000)
        );
        let refused = check(&with_size(8000, 6250)).expect_err("50 megapixels");
        assert!(refused.contains("40 megapixels"), "{refused}");
        assert!(refused.contains("8000 × 6250"), "{refused}");
        assert!(
            check(&with_size(20_000, 10)).is_err(),
            "a side over the limit"
        );
        assert_eq!(check(b"GIF89a"), Err(NOT_AN_IMAGE.to_owned()));
    }

    #[test]
    fn other_files_and_truncated_headers_are_refused() {
        assert_eq!(inspect(b"<?php system($_GET['c']); ?>"), None);
        assert_eq!(inspect(b"GIF89a\x01\x00\x01\x00"), None);
        assert_eq!(inspect(&PNG[..20]), None);
        assert_eq!(inspect(&[0xff, 0xd8, 0xff]), None);
        let mut zero = PNG.to_vec();
        zero[19] = 0; // width 0
        assert_eq!(inspect(&zero), None);
    }
}
