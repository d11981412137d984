//! Label selectors (`metav1.LabelSelector` and the string form of `?labelSelector=`) and
//! field selectors (`?fieldSelector=`), with upstream's matching and validation rules.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::meta::StringMap;

/// `metav1.LabelSelector` as written in an object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Equality requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<StringMap>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// `metav1.LabelSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    #[serde(default)]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    /// Values for `In` / `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// A selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// `key in (values)` / `key=value`.
    In,
    /// `key notin (values)` / `key!=value`.
    NotIn,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>N` (string form only).
    GreaterThan,
    /// `key<N` (string form only).
    LessThan,
}

/// One validated requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values (one integer for Gt/Lt).
    pub values: BTreeSet<String>,
}

impl Requirement {
    fn matches(&self, labels: &StringMap) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(v), Some(bound)) = (value, self.values.iter().next()) else {
                    return false;
                };
                match (v.parse::<i64>(), bound.parse::<i64>()) {
                    (Ok(v), Ok(b)) if self.operator == Operator::GreaterThan => v > b,
                    (Ok(v), Ok(b)) => v < b,
                    _ => false,
                }
            }
        }
    }
}

/// A validated selector, ready to match labels. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches every label set.
    pub fn everything() -> Self {
        Selector::default()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &StringMap) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The selector without the requirement [`Selector::anchor`] names: what is left to check
    /// of a label set already known to carry the anchor's `key=value`. The whole selector
    /// when there is no anchor.
    pub fn residual_after_anchor(&self) -> Selector {
        let anchor = self
            .requirements
            .iter()
            .position(|r| r.operator == Operator::In && r.values.len() == 1);
        Selector {
            requirements: self
                .requirements
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != anchor)
                .map(|(_, r)| r.clone())
                .collect(),
        }
    }

    /// Whether there are no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, in the order they were given.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// A `key=value` pair that every matching label set must carry, if the selector has
    /// one: what an index can file this selector under.
    pub fn anchor(&self) -> Option<(&str, &str)> {
        self.requirements.iter().find_map(|r| match r.operator {
            Operator::In if r.values.len() == 1 => {
                r.values.iter().next().map(|v| (r.key.as_str(), v.as_str()))
            }
            _ => None,
        })
    }

    /// Parses the string form used by `?labelSelector=` (upstream `labels.Parse`):
    /// `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, joined
    /// by commas.
    ///
    /// # Errors
    /// A message in upstream's style naming what could not be parsed.
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::Selector;
    /// let s = Selector::parse("app=web,tier in (fe, be),!legacy").unwrap();
    /// let labels = [("app".to_string(), "web".to_string()), ("tier".to_string(), "fe".to_string())]
    ///     .into_iter().collect();
    /// assert!(s.matches(&labels));
    /// assert!(Selector::parse("app in web").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut parser = StringSelectorParser::new(text);
        let requirements = parser.parse()?;
        Ok(Selector { requirements })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for r in &self.requirements {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            let values = r.values.iter().cloned().collect::<Vec<_>>().join(",");
            match r.operator {
                Operator::In if r.values.len() == 1 => write!(f, "{}={}", r.key, values)?,
                Operator::In => write!(f, "{} in ({})", r.key, values)?,
                Operator::NotIn if r.values.len() == 1 => write!(f, "{}!={}", r.key, values)?,
                Operator::NotIn => write!(f, "{} notin ({})", r.key, values)?,
                Operator::Exists => write!(f, "{}", r.key)?,
                Operator::DoesNotExist => write!(f, "!{}", r.key)?,
                Operator::GreaterThan => write!(f, "{}>{}", r.key, values)?,
                Operator::LessThan => write!(f, "{}<{}", r.key, values)?,
            }
        }
        Ok(())
    }
}

/// A validation problem in a `LabelSelector`, with the path of the offending field relative
/// to the selector and upstream's detail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorFieldError {
    /// Path below the selector, e.g. `matchExpressions[0].operator`.
    pub field: String,
    /// `Invalid value`, `Required value`, …
    pub kind: FieldErrorKind,
    /// The offending value, rendered as upstream renders it (quoted string), if any.
    pub value: Option<String>,
    /// Upstream's detail text.
    pub detail: String,
}

/// The kinds of field error upstream's validation produces (`field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `FieldValueInvalid`: "Invalid value".
    Invalid,
    /// `FieldValueRequired`: "Required value".
    Required,
    /// `FieldValueForbidden`: "Forbidden".
    Forbidden,
    /// `FieldValueNotSupported`: "Unsupported value".
    NotSupported,
}

impl FieldErrorKind {
    /// The cause `reason` string.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
        }
    }

    /// The human phrase upstream prints.
    pub fn phrase(self) -> &'static str {
        match self {
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::NotSupported => "Unsupported value",
        }
    }
}

const NAME_FORMAT: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

fn is_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Upstream's `IsQualifiedName`: the problems with a label key, empty when it is valid.
pub fn qualified_name_errors(key: &str) -> Vec<String> {
    // Split without collecting: every label key of every pod written is checked.
    let (prefix, name) = match key.split_once('/') {
        None => (None, key),
        Some((prefix, name)) if !name.contains('/') => (Some(prefix), name),
        Some(_) => {
            return vec![format!(
                "a qualified name {NAME_FORMAT} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    let mut errors = Vec::new();
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errors.push("prefix part must be non-empty".to_string());
        } else if !super::validation::is_dns_subdomain(prefix) {
            errors.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
        }
    }
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errors.push("name part must be no more than 63 characters".to_string());
    } else if !is_name_part(name) {
        errors.push(format!("name part {NAME_FORMAT}"));
    }
    errors
}

/// Upstream's `IsValidLabelValue`: the problems with a label value, empty when it is valid.
pub fn label_value_errors(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    if value.len() > 63 {
        return vec!["must be no more than 63 characters".to_string()];
    }
    if !is_name_part(value) {
        return vec![format!(
            "a valid label {}",
            NAME_FORMAT.replacen("must consist", "must be an empty string or consist", 1)
        )];
    }
    Vec::new()
}

impl LabelSelector {
    /// Converts to a matcher as upstream's `LabelSelectorAsSelector` does: `{}` selects
    /// everything; an invalid requirement is an error.
    ///
    /// # Errors
    /// The first validation problem, as text.
    pub fn to_selector(&self) -> Result<Selector, String> {
        match self.validate().into_iter().next() {
            Some(e) => Err(match e.value {
                Some(v) => format!("{}: {}: {}: {}", e.field, e.kind.phrase(), v, e.detail),
                None => format!("{}: {}: {}", e.field, e.kind.phrase(), e.detail),
            }),
            None => Ok(self.to_selector_unchecked()),
        }
    }

    /// Converts as upstream's `LabelSelectorAsSelector` does at run time (the disruption
    /// controller's C5), with its error texts.
    ///
    /// # Errors
    /// `"<op>" is not a valid label selector operator`, or a requirement's field error.
    pub fn as_selector(&self) -> Result<Selector, String> {
        for e in self.match_expressions.iter().flatten() {
            if !matches!(
                e.operator.as_str(),
                "In" | "NotIn" | "Exists" | "DoesNotExist"
            ) {
                return Err(format!(
                    "{} is not a valid label selector operator",
                    super::GoQuoted(&e.operator)
                ));
            }
        }
        let requirement_errors = self
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k, std::slice::from_ref(v), "In"))
            .chain(self.match_expressions.iter().flatten().map(|e| {
                (
                    &e.key,
                    e.values.as_deref().unwrap_or(&[]),
                    e.operator.as_str(),
                )
            }));
        for (key, values, operator) in requirement_errors {
            if let Some(detail) = qualified_name_errors(key).into_iter().next() {
                return Err(format!(
                    "key: Invalid value: {key_q}: {detail}",
                    key_q = super::GoQuoted(key)
                ));
            }
            match operator {
                "In" | "NotIn" if values.is_empty() => {
                    return Err("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty".into());
                }
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    return Err("values: Invalid value: []string{...}: values set must be empty for exists and does not exist".into());
                }
                _ => {}
            }
            for (i, v) in values.iter().enumerate() {
                if let Some(detail) = label_value_errors(v).into_iter().next() {
                    return Err(format!(
                        "values[{i}][{key}]: Invalid value: {v_q}: {detail}",
                        v_q = super::GoQuoted(v)
                    ));
                }
            }
        }
        Ok(self.to_selector_unchecked())
    }

    fn to_selector_unchecked(&self) -> Selector {
        let mut requirements = Vec::new();
        for (k, v) in self.match_labels.iter().flatten() {
            requirements.push(Requirement {
                key: k.clone(),
                operator: Operator::In,
                values: BTreeSet::from([v.clone()]),
            });
        }
        for e in self.match_expressions.iter().flatten() {
            let operator = match e.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                _ => Operator::DoesNotExist,
            };
            requirements.push(Requirement {
                key: e.key.clone(),
                operator,
                values: e.values.iter().flatten().cloned().collect(),
            });
        }
        Selector { requirements }
    }

    /// Validates as upstream's `ValidateLabelSelector` does.
    pub fn validate(&self) -> Vec<SelectorFieldError> {
        let mut errors = Vec::new();
        for (k, v) in self.match_labels.iter().flatten() {
            for detail in qualified_name_errors(k) {
                errors.push(SelectorFieldError {
                    field: "matchLabels".into(),
                    kind: FieldErrorKind::Invalid,
                    value: Some(super::go_quote(k)),
                    detail,
                });
            }
            for detail in label_value_errors(v) {
                errors.push(SelectorFieldError {
                    field: "matchLabels".into(),
                    kind: FieldErrorKind::Invalid,
                    value: Some(super::go_quote(v)),
                    detail,
                });
            }
        }
        for (i, e) in self.match_expressions.iter().flatten().enumerate() {
            let base = format!("matchExpressions[{i}]");
            let n_values = e.values.as_ref().map_or(0, Vec::len);
            match e.operator.as_str() {
                "In" | "NotIn" if n_values == 0 => errors.push(SelectorFieldError {
                    field: format!("{base}.values"),
                    kind: FieldErrorKind::Required,
                    value: None,
                    detail: "must be specified when `operator` is 'In' or 'NotIn'".into(),
                }),
                "In" | "NotIn" => {}
                "Exists" | "DoesNotExist" if n_values > 0 => errors.push(SelectorFieldError {
                    field: format!("{base}.values"),
                    kind: FieldErrorKind::Forbidden,
                    value: None,
                    detail: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                        .into(),
                }),
                "Exists" | "DoesNotExist" => {}
                other => errors.push(SelectorFieldError {
                    field: format!("{base}.operator"),
                    kind: FieldErrorKind::Invalid,
                    value: Some(super::go_quote(other)),
                    detail: "not a valid selector operator".into(),
                }),
            }
            for detail in qualified_name_errors(&e.key) {
                errors.push(SelectorFieldError {
                    field: format!("{base}.key"),
                    kind: FieldErrorKind::Invalid,
                    value: Some(super::go_quote(&e.key)),
                    detail,
                });
            }
            for (j, v) in e.values.iter().flatten().enumerate() {
                for detail in label_value_errors(v) {
                    errors.push(SelectorFieldError {
                        field: format!("{base}.values[{j}]"),
                        kind: FieldErrorKind::Invalid,
                        value: Some(super::go_quote(v)),
                        detail,
                    });
                }
            }
        }
        errors
    }
}

struct StringSelectorParser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> StringSelectorParser<'a> {
    fn new(text: &'a str) -> Self {
        StringSelectorParser { text, pos: 0 }
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with([' ', '\t']) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn word(&mut self) -> &'a str {
        self.skip_ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ',' | '=' | '!' | '(' | ')' | '<' | '>') {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    fn error(&self, what: &str) -> String {
        format!(
            "unable to parse requirement: {what} at position {} in {}",
            self.pos,
            super::GoQuoted(self.text)
        )
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut out = Vec::new();
        self.skip_ws();
        if self.pos == self.text.len() {
            return Ok(out);
        }
        loop {
            out.push(self.requirement()?);
            self.skip_ws();
            match self.peek() {
                None => return Ok(out),
                Some(',') => self.pos += 1,
                Some(c) => {
                    return Err(
                        self.error(&format!("found '{c}', expected: ',' or 'end of string'"))
                    );
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        self.skip_ws();
        let negated = self.peek() == Some('!');
        if negated {
            self.pos += 1;
        }
        let key = self.word().to_string();
        if key.is_empty() {
            return Err(self.error("found '', expected: identifier"));
        }
        if let Some(detail) = qualified_name_errors(&key).into_iter().next() {
            return Err(format!(
                "unable to parse requirement: key: Invalid value: {key_q}: {detail}",
                key_q = super::GoQuoted(&key)
            ));
        }
        if negated {
            return Ok(Requirement {
                key,
                operator: Operator::DoesNotExist,
                values: BTreeSet::new(),
            });
        }
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let (operator, len) = if rest.starts_with("==") {
            (Some(Operator::In), 2)
        } else if rest.starts_with("!=") {
            (Some(Operator::NotIn), 2)
        } else if rest.starts_with('=') {
            (Some(Operator::In), 1)
        } else if rest.starts_with('>') {
            (Some(Operator::GreaterThan), 1)
        } else if rest.starts_with('<') {
            (Some(Operator::LessThan), 1)
        } else {
            (None, 0)
        };
        if let Some(operator) = operator {
            self.pos += len;
            let value = self.word().to_string();
            if matches!(operator, Operator::GreaterThan | Operator::LessThan)
                && value.parse::<i64>().is_err()
            {
                return Err(self.error(&format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer, got {value_q}",
                    value_q = super::GoQuoted(&value)
                )));
            }
            if let Some(detail) = label_value_errors(&value).into_iter().next() {
                return Err(format!(
                    "unable to parse requirement: values[0][{key}]: Invalid value: {value_q}: {detail}",
                    value_q = super::GoQuoted(&value)
                ));
            }
            return Ok(Requirement {
                key,
                operator,
                values: BTreeSet::from([value]),
            });
        }
        let save = self.pos;
        let word = self.word();
        let operator = match word {
            "in" => Operator::In,
            "notin" => Operator::NotIn,
            "" => {
                self.pos = save;
                return Ok(Requirement {
                    key,
                    operator: Operator::Exists,
                    values: BTreeSet::new(),
                });
            }
            other => {
                return Err(self.error(&format!(
                    "found '{other}', expected: in, notin, =, ==, !=, gt, lt"
                )));
            }
        };
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error("found something else, expected: '('"));
        }
        self.pos += 1;
        let mut values = BTreeSet::new();
        loop {
            let v = self.word().to_string();
            if let Some(detail) = label_value_errors(&v).into_iter().next() {
                return Err(format!(
                    "unable to parse requirement: values[0][{key}]: Invalid value: {v_q}: {detail}",
                    v_q = super::GoQuoted(&v)
                ));
            }
            values.insert(v);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("found something else, expected: ',' or ')'")),
            }
        }
        Ok(Requirement {
            key,
            operator,
            values,
        })
    }
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `spec.nodeName`.
    pub field: String,
    /// `true` for `=`/`==`, `false` for `!=`.
    pub equals: bool,
    /// The value compared against.
    pub value: String,
}

/// A parsed `?fieldSelector=`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    /// The terms; all must hold.
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses as upstream's `fields.ParseSelector` (`apimachinery/pkg/fields/selector.go`):
    /// terms split on unescaped commas and taken in sorted order; each splits at the first
    /// `!=`, `==` or `=`; the value is unescaped, where `\\`, `\,` and `\=` are the only
    /// escapes and a bare `,` or `=` is refused.
    ///
    /// # Errors
    /// Upstream's texts: `invalid selector: '<selector>'; can't understand '<term>'`,
    /// `invalid field selector: invalid escape sequence: \x`, `invalid field selector:
    /// unescaped character in value: =`.
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::FieldSelector;
    /// let s = FieldSelector::parse("spec.nodeName=node-1,status.phase!=Failed").unwrap();
    /// assert_eq!(s.requirements.len(), 2);
    /// assert!(FieldSelector::parse("spec.nodeName").is_err());
    /// assert_eq!(
    ///     FieldSelector::parse(r"metadata.name=a\x").unwrap_err(),
    ///     r"invalid field selector: invalid escape sequence: \x"
    /// );
    /// ```
    pub fn parse(text: &str) -> Result<FieldSelector, String> {
        let mut terms = split_unescaped(text, ',');
        terms.sort();
        let mut requirements = Vec::new();
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((at, op)) = term.char_indices().find_map(|(i, _)| {
                ["!=", "==", "="]
                    .into_iter()
                    .find(|op| term[i..].starts_with(op))
                    .map(|op| (i, op))
            }) else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                ));
            };
            requirements.push(FieldRequirement {
                field: term[..at].to_string(),
                equals: op != "!=",
                value: unescape_field_value(&term[at + op.len()..])?,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Whether the selector holds, given a lookup from field path to the object's value.
    /// Fields the lookup does not know must have been rejected beforehand.
    pub fn matches(&self, mut field: impl FnMut(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = field(&r.field).unwrap_or_default();
            (actual == r.value) == r.equals
        })
    }
}

fn split_unescaped(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if escaped {
        current.push('\\');
    }
    parts.push(current);
    parts
}

/// Upstream's `fields.UnescapeValue`.
fn unescape_field_value(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            out.push(c);
            escaped = false;
        } else {
            match c {
                '\\' => escaped = true,
                ',' | '=' => {
                    return Err(format!(
                        "invalid field selector: unescaped character in value: {c}"
                    ));
                }
                c => out.push(c),
            }
        }
    }
    if escaped {
        return Err("invalid field selector: invalid escape sequence: \\".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> StringMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_label_selector_matches_everything_e13() {
        let s = LabelSelector::default().to_selector().unwrap();
        assert!(s.matches(&labels(&[])));
        assert!(s.matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn label_selector_table() {
        let sel: LabelSelector = serde_json::from_str(
            r#"{"matchLabels":{"app":"web"},"matchExpressions":[
                {"key":"tier","operator":"In","values":["fe","be"]},
                {"key":"legacy","operator":"DoesNotExist"},
                {"key":"zone","operator":"NotIn","values":["z9"]},
                {"key":"team","operator":"Exists"}]}"#,
        )
        .unwrap();
        let s = sel.to_selector().unwrap();
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("app", "web"), ("tier", "fe"), ("team", "x")], true),
            (
                &[
                    ("app", "web"),
                    ("tier", "be"),
                    ("team", "x"),
                    ("zone", "z1"),
                ],
                true,
            ),
            (&[("app", "web"), ("tier", "fe")], false),
            (&[("app", "web"), ("tier", "qa"), ("team", "x")], false),
            (
                &[
                    ("app", "web"),
                    ("tier", "fe"),
                    ("team", "x"),
                    ("legacy", ""),
                ],
                false,
            ),
            (
                &[
                    ("app", "web"),
                    ("tier", "fe"),
                    ("team", "x"),
                    ("zone", "z9"),
                ],
                false,
            ),
            (&[("app", "db"), ("tier", "fe"), ("team", "x")], false),
        ];
        for (set, want) in cases {
            assert_eq!(s.matches(&labels(set)), *want, "{set:?}");
        }
    }

    #[test]
    fn invalid_label_selectors_are_rejected_c5() {
        for text in [
            r#"{"matchLabels":{"k8s.io/too/many/slashes":"x"}}"#,
            r#"{"matchExpressions":[{"key":"a","operator":"illegal"}]}"#,
            r#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#,
            r#"{"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}"#,
        ] {
            let sel: LabelSelector = serde_json::from_str(text).unwrap();
            assert!(sel.to_selector().is_err(), "{text}");
        }
    }

    #[test]
    fn string_selectors_parse_like_upstream() {
        let l = labels(&[("a", "1"), ("b", "x"), ("n", "5")]);
        let cases = [
            ("", true),
            ("a=1", true),
            ("a==1", true),
            ("a!=1", false),
            ("a in (1,2)", true),
            ("a notin (1)", false),
            ("a", true),
            ("!a", false),
            ("!zzz", true),
            ("n>4", true),
            ("n<4", false),
            ("a=1, b=x", true),
            ("a=1,b=y", false),
        ];
        for (text, want) in cases {
            assert_eq!(Selector::parse(text).unwrap().matches(&l), want, "{text}");
        }
        for bad in ["a in 1", "a=1 b=2", "=x", "a in (1", "n>x", "a/b/c=1"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_selectors_parse_with_escapes() {
        let s = FieldSelector::parse(r"metadata.name=a\,b").unwrap();
        assert_eq!(s.requirements[0].value, "a,b");
        let s = FieldSelector::parse("spec.nodeName==n1,status.phase!=Failed").unwrap();
        assert!(s.matches(|f| match f {
            "spec.nodeName" => Some("n1".into()),
            _ => Some("Running".into()),
        }));
        // Found by fuzzing: multi-byte characters around an operator.
        let s = FieldSelector::parse("spec.nodeName\u{fffd}=é").unwrap();
        assert_eq!(
            (
                s.requirements[0].field.as_str(),
                s.requirements[0].value.as_str()
            ),
            ("spec.nodeName\u{fffd}", "é")
        );
        assert!(FieldSelector::parse("spec.nodeNamnoe*\u{fffd}0ae-phase!=Failed").is_ok());
        for (bad, message) in [
            (
                r"metadata.name=a\x",
                r"invalid field selector: invalid escape sequence: \x",
            ),
            (
                r"metadata.name=a\",
                r"invalid field selector: invalid escape sequence: \",
            ),
            (
                "metadata.name=a=b",
                "invalid field selector: unescaped character in value: =",
            ),
            (
                r"a\=b=c",
                "invalid field selector: unescaped character in value: =",
            ),
        ] {
            assert_eq!(FieldSelector::parse(bad).unwrap_err(), message, "{bad}");
        }
        assert_eq!(
            FieldSelector::parse("foo").unwrap_err(),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
    }
}
