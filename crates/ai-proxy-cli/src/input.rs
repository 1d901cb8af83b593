//! Reading a FILE|- argument.

use std::io::Read;

/// Reads a whole file, or standard input for `-`, as UTF-8 text. The error
/// is a ready-to-print message naming the file and the cause.
pub fn read_text(file: &str) -> Result<String, String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))
    }
}
