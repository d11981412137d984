//! Partial matching, as `expect.body` and `assert` use it (`docs/scenario-files.md`): maps match on the
//! keys they give, lists element by element at equal length, scalars by equality, and
//! `null` matches a missing key.

use serde_json::Value;

/// One place where the actual value differs from the expected one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where, e.g. `status.conditions[0].reason`.
    pub path: String,
    /// What was expected.
    pub expected: Value,
    /// What was there (`null` when missing).
    pub actual: Value,
}

/// Every mismatch of `actual` against the partial `expected`.
///
/// # Examples
/// ```
/// use evictsim::scenario::partial_match;
/// use serde_json::json;
/// let actual = json!({"code": 429, "details": {"causes": [{"reason": "DisruptionBudget"}]}});
/// assert!(partial_match(&json!({"code": 429}), &actual, "").is_empty());
/// assert_eq!(partial_match(&json!({"code": 201}), &actual, "")[0].path, "code");
/// ```
pub fn partial_match(expected: &Value, actual: &Value, path: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    walk(expected, Some(actual), path, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn scalars_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == actual,
    }
}

fn walk(expected: &Value, actual: Option<&Value>, path: &str, out: &mut Vec<Mismatch>) {
    let mismatch = |out: &mut Vec<Mismatch>| {
        out.push(Mismatch {
            path: path.to_string(),
            expected: expected.clone(),
            actual: actual.cloned().unwrap_or(Value::Null),
        })
    };
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => {}
        (Value::Object(map), Some(Value::Object(actual_map))) => {
            for (k, v) in map {
                walk(v, actual_map.get(k), &join(path, k), out);
            }
        }
        (Value::Array(items), Some(Value::Array(actual_items)))
            if items.len() == actual_items.len() =>
        {
            for (i, (e, a)) in items.iter().zip(actual_items).enumerate() {
                walk(e, Some(a), &format!("{path}[{i}]"), out);
            }
        }
        (e, Some(a)) if !e.is_object() && !e.is_array() && scalars_equal(e, a) => {}
        _ => mismatch(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_match_rules() {
        let actual = json!({"a": 1, "b": {"c": [1, 2]}, "d": null});
        let rows = [
            (json!({}), 0),
            (json!({"a": 1}), 0),
            (json!({"a": 1.0}), 0),
            (json!({"a": 2}), 1),
            (json!({"b": {"c": [1, 2]}}), 0),
            (json!({"b": {"c": [1]}}), 1),
            (json!({"b": {"c": [1, 3]}}), 1),
            (json!({"missing": null}), 0),
            (json!({"d": null}), 0),
            (json!({"missing": 1}), 1),
            (json!({"a": {"x": 1}}), 1),
        ];
        for (expected, n) in rows {
            assert_eq!(partial_match(&expected, &actual, "").len(), n, "{expected}");
        }
        assert_eq!(
            partial_match(&json!({"b": {"c": [1, 3]}}), &actual, "")[0].path,
            "b.c[1]"
        );
    }
}
