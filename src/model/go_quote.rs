//! Go's `%q`: how upstream quotes names and values inside its messages
//! (`strconv.Quote`). Rust's `{:?}` differs on control and invisible characters
//! (`\0` against `\x00`, `\u{200b}` against `\u200b`), and clients compare messages.

use std::fmt;

/// A string rendered as Go's `strconv.Quote` renders it (`Display`).
///
/// # Examples
/// ```
/// use evictsim::model::GoQuoted;
/// assert_eq!(GoQuoted("web-1").to_string(), r#""web-1""#);
/// assert_eq!(GoQuoted("a\u{0}b\u{7f}").to_string(), r#""a\x00b\x7f""#);
/// assert_eq!(GoQuoted("tab\tnl\n\"q\"").to_string(), r#""tab\tnl\n\"q\"""#);
/// assert_eq!(GoQuoted("zero\u{200b}width").to_string(), r#""zero\u200bwidth""#);
/// assert_eq!(GoQuoted("café ☕").to_string(), "\"café ☕\"");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct GoQuoted<'a>(pub &'a str);

/// `s` quoted as Go's `strconv.Quote` quotes it.
pub fn go_quote(s: impl AsRef<str>) -> String {
    GoQuoted(s.as_ref()).to_string()
}

impl fmt::Display for GoQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\u{7}' => f.write_str("\\a")?,
                '\u{8}' => f.write_str("\\b")?,
                '\u{c}' => f.write_str("\\f")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\u{b}' => f.write_str("\\v")?,
                c if is_go_printable(c) => f.write_char(c)?,
                c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
                c if (c as u32) < 0x10000 => write!(f, "\\u{:04x}", c as u32)?,
                c => write!(f, "\\U{:08x}", c as u32)?,
            }
        }
        f.write_char('"')
    }
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII
/// space. Rust's standard library has no general categories, so the non-printable set is
/// spelled out: controls, every space but U+0020, the format characters (Cf) and
/// private-use code points. Unassigned code points are treated as printable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}
