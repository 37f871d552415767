//! Image files the image tests upload, made here byte for byte: photographs with an EXIF
//! orientation, and PNG decompression bombs — a few kilobytes that claim tens of megapixels,
//! with a real zlib stream of all their zero bytes.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageEncoder, ImageReader, Rgb, RgbImage};

/// An EXIF block (big-endian TIFF) holding only an orientation (`6`: turn 90° clockwise).
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut exif = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    exif.extend_from_slice(&value.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    exif
}

/// A gradient of `width × height`: some bytes to compress.
fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let shade = |v: u32, of: u32| u8::try_from(v * 255 / of.max(1)).unwrap_or(u8::MAX);
        Rgb([shade(x, width), shade(y, height), 90])
    })
}

/// A PNG of a gradient.
pub fn gradient_png(width: u32, height: u32) -> Vec<u8> {
    let image = gradient(width, height);
    let mut file = Vec::new();
    PngEncoder::new(&mut file)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoded");
    file
}

/// A JPEG photograph of a gradient of `width × height`, with `orientation` in its EXIF when
/// given.
pub fn jpeg(width: u32, height: u32, orientation: Option<u16>) -> Vec<u8> {
    let image = gradient(width, height);
    let mut file = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut file, 90);
    if let Some(value) = orientation {
        encoder
            .set_exif_metadata(exif_orientation(value))
            .expect("exif");
    }
    encoder.encode_image(&image).expect("encoded");
    file
}

/// Whether a JPEG has an EXIF segment (APP1 `Exif\0\0`).
pub fn has_exif(file: &[u8]) -> bool {
    file.windows(6).any(|w| w == b"Exif\0\0")
}

/// Decodes a file the way an app would (format from its content).
pub fn decode(file: &[u8]) -> DynamicImage {
    ImageReader::new(Cursor::new(file))
        .with_guessed_format()
        .expect("readable")
        .decode()
        .expect("decodes")
}

/// A PNG of `width × height` whose pixels are all zero: `depth` bits a sample, `color` the PNG
/// colour type (0 grey, 6 RGBA).
pub fn zero_png(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
    let channels: u64 = match color {
        0 => 1,
        2 => 3,
        4 => 2,
        _ => 4,
    };
    let row = (u64::from(width) * channels * u64::from(depth)).div_ceil(8);
    let raw = u64::from(height) * (1 + row);
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, color, 0, 0, 0]);
    chunk(&mut file, b"IHDR", &header);
    chunk(&mut file, b"IDAT", &zlib_zeros(raw));
    chunk(&mut file, b"IEND", &[]);
    file
}

/// `png` with its header claiming `width × height` (its CRC left as it was: a header check
/// must refuse it before anything reads further).
pub fn claiming(png: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut file = png.to_vec();
    file[16..20].copy_from_slice(&width.to_be_bytes());
    file[20..24].copy_from_slice(&height.to_be_bytes());
    file
}

/// Appends a PNG chunk with its CRC.
fn chunk(file: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("a chunk under 4 GiB");
    file.extend_from_slice(&length.to_be_bytes());
    let start = file.len();
    file.extend_from_slice(kind);
    file.extend_from_slice(data);
    let crc = file[start..].iter().fold(!0u32, |mut crc, &byte| {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
        crc
    });
    file.extend_from_slice(&(!crc).to_be_bytes());
}

/// Deflate's bits, least significant first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    pending: u64,
    count: u32,
}

impl Bits {
    fn put(&mut self, value: u32, length: u32) {
        self.pending |= u64::from(value) << self.count;
        self.count += length;
        while self.count >= 8 {
            self.out.push(self.pending.to_le_bytes()[0]);
            self.pending >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code: its most significant bit first.
    fn code(&mut self, code: u32, length: u32) {
        self.put(code.reverse_bits() >> (32 - length), length);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.pending.to_le_bytes()[0]);
        }
        self.out
    }
}

/// A zlib stream of `n` (≥ 1) zero bytes, about as small as deflate makes it: one block of
/// fixed codes — a literal zero, copies of 258 bytes from one byte back, zeros for the rest.
fn zlib_zeros(n: u64) -> Vec<u8> {
    const LITERAL_ZERO: (u32, u32) = (0b0011_0000, 8);
    const LENGTH_258: (u32, u32) = (0b1100_0101, 8);
    const DISTANCE_1: (u32, u32) = (0, 5);
    const END: (u32, u32) = (0, 7);
    let mut bits = Bits::default();
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(LITERAL_ZERO.0, LITERAL_ZERO.1);
    let rest = n - 1;
    for _ in 0..rest / 258 {
        bits.code(LENGTH_258.0, LENGTH_258.1);
        bits.code(DISTANCE_1.0, DISTANCE_1.1);
    }
    for _ in 0..rest % 258 {
        bits.code(LITERAL_ZERO.0, LITERAL_ZERO.1);
    }
    bits.code(END.0, END.1);
    let mut stream = vec![0x78, 0x01];
    stream.extend(bits.finish());
    // Adler-32 of zeros: the sum of bytes stays 1, the sum of sums counts them.
    let b = u32::try_from(n % 65_521).expect("under the modulus");
    stream.extend_from_slice(&((b << 16) | 1).to_be_bytes());
    stream
}

#[test]
fn the_zero_stream_inflates_to_its_length() {
    let png = zero_png(300, 200, 8, 6);
    let image = decode(&png);
    assert_eq!((image.width(), image.height()), (300, 200));
    assert!(image.to_rgba8().pixels().all(|p| p.0 == [0, 0, 0, 0]));
}
