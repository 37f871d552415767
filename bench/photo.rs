//! A synthetic photograph for the image benchmark: `photo OUT [WIDTH HEIGHT]` writes a JPEG
//! (quality 90) of WIDTH × HEIGHT (default 4000 × 3000, 12 megapixels) with smooth shapes, fine
//! texture and a little noise — about the bytes a phone gives such a picture — and an EXIF
//! orientation of 6 (taken upright, stored turned), as a phone writes it.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: photo OUT [WIDTH HEIGHT]")?;
    let width: u32 = args.next().map_or(Ok(4000), |w| w.parse())?;
    let height: u32 = args.next().map_or(Ok(3000), |h| h.parse())?;
    let image = RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let wave = ((fx * 37.0).sin() * (fy * 23.0).cos() * 40.0) as i32;
        let texture = (((x * 7 + y * 13) % 17) as i32) - 8;
        let noise = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 28) as i32 - 8;
        let channel = |base: f32| (base as i32 + wave + texture + noise).clamp(0, 255) as u8;
        Rgb([
            channel(60.0 + 150.0 * fx),
            channel(90.0 + 120.0 * fy),
            channel(200.0 - 120.0 * fx * fy),
        ])
    });
    // Big-endian TIFF with one entry: orientation (0x0112) = 6.
    let exif = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00".to_vec();
    let mut file = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut file, 90);
    encoder.set_exif_metadata(exif)?;
    encoder.encode_image(&image)?;
    std::fs::write(&out, &file)?;
    println!("{out}: {width} × {height}, {} bytes", file.len());
    Ok(())
}
