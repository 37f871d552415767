use std::io::Cursor;

use image::{ImageEncoder, ImageReader, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

/// An EXIF block (big-endian TIFF) holding only an orientation.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut exif = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    exif.extend_from_slice(&value.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    exif
}

/// A JPEG of `width × height`, red on the left half, with `orientation` in its EXIF if given.
fn jpeg(width: u32, height: u32, orientation: Option<u16>) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([200, 20, 20])
        } else {
            Rgb([20, 20, 200])
        }
    });
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

fn png(image: &RgbaImage) -> Vec<u8> {
    let mut file = Vec::new();
    PngEncoder::new(&mut file)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .expect("encoded");
    file
}

fn dimensions(file: &[u8]) -> (u32, u32) {
    ImageReader::new(Cursor::new(file))
        .with_guessed_format()
        .expect("read")
        .decode()
        .expect("a size decodes")
        .dimensions()
}

#[test]
fn the_longest_side_is_scaled_to_the_size_and_never_up() {
    assert_eq!(fit(1600, 1200, 200), (200, 150));
    assert_eq!(fit(1200, 1600, 480), (360, 480));
    assert_eq!(fit(4000, 3000, 1080), (1080, 810));
    assert_eq!(fit(150, 100, 200), (150, 100));
    assert_eq!(fit(1080, 1080, 1080), (1080, 1080));
    assert_eq!(fit(10_000, 1, 200), (200, 1), "never a side of zero pixels");
}

#[test]
fn a_quarter_turn_swaps_the_sides_and_a_half_turn_does_not() {
    assert_eq!(oriented(200, 150, Orientation::Rotate90), (150, 200));
    assert_eq!(oriented(200, 150, Orientation::Rotate270FlipH), (150, 200));
    assert_eq!(oriented(200, 150, Orientation::Rotate180), (200, 150));
    assert_eq!(oriented(200, 150, Orientation::NoTransforms), (200, 150));
}

#[test]
fn a_rotated_photo_gives_upright_jpeg_sizes_without_exif() {
    let sizes = make(&jpeg(1600, 1200, Some(6)), Format::Jpeg).expect("sizes");
    assert_eq!(sizes.encoding, Encoding::Jpeg);
    let found: Vec<_> = sizes.files.iter().map(|f| dimensions(f)).collect();
    assert_eq!(found, [(150, 200), (360, 480), (810, 1080)]);
    for file in &sizes.files {
        assert!(file.starts_with(&[0xff, 0xd8]));
        assert!(!file.windows(4).any(|w| w == b"Exif"), "no EXIF");
    }
}

#[test]
fn a_small_image_keeps_its_size_in_every_size() {
    let sizes = make(&jpeg(100, 80, None), Format::Jpeg).expect("sizes");
    for file in &sizes.files {
        assert_eq!(dimensions(file), (100, 80));
    }
}

#[test]
fn transparency_is_kept_in_png_and_an_opaque_png_becomes_jpeg() {
    let clear = RgbaImage::from_fn(300, 100, |x, _| {
        Rgba([0, 120, 0, if x < 150 { 0 } else { 255 }])
    });
    let sizes = make(&png(&clear), Format::Png).expect("sizes");
    assert_eq!(sizes.encoding, Encoding::Png);
    let small = image::load_from_memory(&sizes.files[0]).expect("decodes");
    assert_eq!(small.dimensions(), (200, 67));
    assert!(
        small.to_rgba8().pixels().any(|p| p[3] == 0),
        "still transparent"
    );

    let opaque = RgbaImage::from_pixel(300, 100, Rgba([0, 120, 0, 255]));
    let sizes = make(&png(&opaque), Format::Png).expect("sizes");
    assert_eq!(sizes.encoding, Encoding::Jpeg);
}

#[test]
fn a_grey_image_gives_grey_sizes() {
    let grey = image::GrayImage::from_fn(900, 300, |x, _| {
        image::Luma([u8::try_from(x % 256).unwrap_or(0)])
    });
    let mut file = Vec::new();
    PngEncoder::new(&mut file)
        .write_image(grey.as_raw(), 900, 300, image::ExtendedColorType::L8)
        .expect("encoded");
    let sizes = make(&file, Format::Png).expect("sizes");
    assert_eq!(sizes.encoding, Encoding::Jpeg);
    let small = image::load_from_memory(&sizes.files[0]).expect("decodes");
    assert_eq!(small.dimensions(), (200, 67));
    assert!(
        small
            .to_rgb8()
            .pixels()
            .all(|p| p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2)
    );
}

#[test]
fn a_truncated_or_scrambled_jpeg_does_not_decode() {
    let whole = jpeg(640, 480, None);
    let truncated = &whole[..whole.len() * 2 / 3];
    assert!(matches!(
        make(truncated, Format::Jpeg),
        Err(SizeError::Decode(DecodeError::Corrupt(_)))
    ));
    let mut scrambled = whole[..whole.len() / 3].to_vec();
    let mut seed: u32 = 7;
    scrambled.extend((0..whole.len()).map(|_| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed.to_be_bytes()[1]
    }));
    assert!(matches!(
        make(&scrambled, Format::Jpeg),
        Err(SizeError::Decode(DecodeError::Corrupt(_)))
    ));
}

#[test]
fn a_png_that_would_need_more_memory_than_allowed_is_refused_before_decoding() {
    // 6000 × 6000 at 16 bits × RGBA: 288 MB, under 40 megapixels but over the allocation limit.
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = 6000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&6000u32.to_be_bytes());
    header.extend_from_slice(&[16, 6, 0, 0, 0]);
    chunk(&mut file, b"IHDR", &header);
    chunk(&mut file, b"IDAT", &[0x78, 0x9c, 0x03, 0x00]);
    chunk(&mut file, b"IEND", &[]);
    assert!(matches!(
        make(&file, Format::Png),
        Err(SizeError::Decode(DecodeError::TooLarge))
    ));
}

/// Appends a PNG chunk with its CRC.
fn chunk(file: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("small chunk");
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
