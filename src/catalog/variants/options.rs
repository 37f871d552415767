//! A product's options and a variant's choice of their values: reading them from a request
//! (with field errors), the keys the database compares (`name\u{1f}value`, lower-cased — so
//! `Size: M` and `size: m` are one choice on every engine), and the order variants are shown in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Most options a product may have.
pub const MAX_OPTIONS: usize = 3;
/// Most values one option may have.
pub const MAX_VALUES: usize = 100;
/// Longest option name, in characters.
pub const MAX_NAME: usize = 50;
/// Longest option value, in characters.
pub const MAX_VALUE: usize = 100;
/// Longest key the database holds (`option1`..`option3`).
const MAX_KEY: usize = 210;

/// An option of a product and its values, in the order staff gave them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductOption {
    /// `Size`, `Colour`; unique in the product whatever the case.
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// `["S", "M", "L"]`; unique in the option whatever the case.
    #[schema(min_items = 1, max_items = 100)]
    pub values: Vec<String>,
}

/// The key of `value` of option `name`, as `option1`..`option3` hold it.
pub fn key(name: &str, value: &str) -> String {
    format!("{}\u{1f}{}", name.to_lowercase(), value.to_lowercase())
}

fn text(value: &Value, what: &str, max: usize) -> Result<String, String> {
    let Value::String(text) = value else {
        return Err(format!("Each {what} must be a string."));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("An {what} may not be blank."));
    }
    if text.chars().count() > max {
        return Err(format!(
            "Ensure each {what} has no more than {max} characters."
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("An {what} may not contain control characters."));
    }
    Ok(text.to_owned())
}

fn one_option(value: &Value) -> Result<ProductOption, String> {
    let Value::Object(map) = value else {
        return Err("Each option must be an object with name and values.".to_owned());
    };
    let name = text(
        map.get("name").unwrap_or(&Value::Null),
        "option name",
        MAX_NAME,
    )?;
    let Some(Value::Array(list)) = map.get("values") else {
        return Err(format!("Option {name}: values must be a list."));
    };
    if list.is_empty() || list.len() > MAX_VALUES {
        return Err(format!(
            "Option {name}: give between 1 and {MAX_VALUES} values."
        ));
    }
    let mut values: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let value = text(item, "option value", MAX_VALUE)?;
        if values
            .iter()
            .any(|v| v.to_lowercase() == value.to_lowercase())
        {
            return Err(format!("Option {name}: the value {value} is given twice."));
        }
        if key(&name, &value).chars().count() > MAX_KEY {
            return Err(format!("Option {name}: the value {value} is too long."));
        }
        values.push(value);
    }
    Ok(ProductOption { name, values })
}

/// Reads a product's `options` (a list of `{"name", "values"}`); the message is for the
/// `options` field.
pub fn parse(value: &Value) -> Result<Vec<ProductOption>, String> {
    let Value::Array(list) = value else {
        return Err("Expected a list of options.".to_owned());
    };
    if list.len() > MAX_OPTIONS {
        return Err(format!("A product has at most {MAX_OPTIONS} options."));
    }
    let mut options: Vec<ProductOption> = Vec::with_capacity(list.len());
    for item in list {
        let option = one_option(item)?;
        if options
            .iter()
            .any(|o| o.name.to_lowercase() == option.name.to_lowercase())
        {
            return Err(format!("The option {} is given twice.", option.name));
        }
        options.push(option);
    }
    Ok(options)
}

/// The options as stored (`None`: no options).
pub fn to_column(options: &[ProductOption]) -> Option<String> {
    (!options.is_empty()).then(|| serde_json::to_string(options).unwrap_or_default())
}

/// The options a product's column holds (none when it is empty or unreadable).
pub fn from_column(column: Option<&str>) -> Vec<ProductOption> {
    column
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// A variant's choice, checked against its product's options: the three keys, and the values
/// as shown (the product's spelling, in the product's option order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub keys: [String; 3],
    pub shown: Map<String, Value>,
}

/// Reads a variant's `options` (name → value): exactly the product's option names, each with
/// one of its values, matched whatever the case. The message is for the `options` field.
pub fn choose(options: &[ProductOption], given: &Map<String, Value>) -> Result<Choice, String> {
    let names: Vec<&str> = options.iter().map(|o| o.name.as_str()).collect();
    for name in given.keys() {
        if !names
            .iter()
            .any(|n| n.to_lowercase() == name.to_lowercase())
        {
            return Err(if names.is_empty() {
                "This product has no options: give {}.".to_owned()
            } else {
                format!(
                    "Unknown option {name}: the options are {}.",
                    names.join(", ")
                )
            });
        }
    }
    let mut choice = Choice {
        keys: [String::new(), String::new(), String::new()],
        shown: Map::new(),
    };
    for (at, option) in options.iter().enumerate() {
        let found = given
            .iter()
            .find(|(name, _)| name.to_lowercase() == option.name.to_lowercase());
        let Some((_, value)) = found else {
            return Err(format!("Choose a value of {}.", option.name));
        };
        let Value::String(value) = value else {
            return Err(format!("The value of {} must be a string.", option.name));
        };
        let wanted = value.trim().to_lowercase();
        let Some(value) = option.values.iter().find(|v| v.to_lowercase() == wanted) else {
            return Err(format!(
                "{} is not a value of {}: choose one of {}.",
                value.trim(),
                option.name,
                option.values.join(", ")
            ));
        };
        choice.keys[at] = key(&option.name, value);
        choice
            .shown
            .insert(option.name.clone(), Value::String(value.clone()));
    }
    Ok(choice)
}

/// Where a variant with these values (as shown) sorts: each value's position in its option,
/// first option first (a value no longer listed sorts last).
pub fn position(options: &[ProductOption], shown: &Map<String, Value>) -> Vec<usize> {
    options
        .iter()
        .map(|option| {
            shown
                .get(&option.name)
                .and_then(Value::as_str)
                .and_then(|value| option.values.iter().position(|v| v == value))
                .unwrap_or(usize::MAX)
        })
        .collect()
}

/// A `?option=Name:Value` filter as the key it matches; `None` when there is no `:` or either
/// side is blank.
pub fn filter_key(text: &str) -> Option<String> {
    let (name, value) = text.split_once(':')?;
    let (name, value) = (name.trim(), value.trim());
    (!name.is_empty() && !value.is_empty()).then(|| key(name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shirt() -> Vec<ProductOption> {
        parse(&json!([
            {"name": "Size", "values": ["S", "M", "L"]},
            {"name": "Colour", "values": ["Red", "Blue"]}
        ]))
        .expect("valid")
    }

    #[test]
    fn options_are_read_trimmed_and_checked() {
        assert_eq!(shirt()[1].values, ["Red", "Blue"]);
        assert!(
            parse(&json!([{"name": " Size ", "values": [" S "]}]))
                .is_ok_and(|o| o[0].name == "Size" && o[0].values == ["S"])
        );
        for bad in [
            json!({"name": "Size"}),
            json!([{"name": "Size", "values": []}]),
            json!([{"name": "", "values": ["S"]}]),
            json!([{"name": "Size", "values": ["S", "s"]}]),
            json!([{"name": "Size", "values": ["S"]}, {"name": "size", "values": ["M"]}]),
            json!([{"name": "A", "values": ["1"]}, {"name": "B", "values": ["1"]},
                   {"name": "C", "values": ["1"]}, {"name": "D", "values": ["1"]}]),
            json!([{"name": "Size", "values": [1]}]),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..101).map(|n| n.to_string()).collect();
        assert!(parse(&json!([{"name": "N", "values": many}])).is_err());
    }

    #[test]
    fn a_choice_names_every_option_once_and_keys_ignore_case() {
        let given = json!({"colour": "red", "Size": "M"});
        let choice = choose(&shirt(), given.as_object().expect("object")).expect("valid");
        assert_eq!(
            choice.keys,
            [
                "size\u{1f}m".to_owned(),
                "colour\u{1f}red".to_owned(),
                String::new()
            ]
        );
        assert_eq!(
            Value::Object(choice.shown),
            json!({"Size": "M", "Colour": "Red"})
        );
        for bad in [
            json!({"Size": "M"}),
            json!({"Size": "XL", "Colour": "Red"}),
            json!({"Size": "M", "Colour": "Red", "Fit": "Slim"}),
            json!({"Size": 1, "Colour": "Red"}),
        ] {
            assert!(
                choose(&shirt(), bad.as_object().expect("object")).is_err(),
                "{bad}"
            );
        }
        let none = choose(&[], &Map::new()).expect("no options");
        assert_eq!(none.keys, [String::new(), String::new(), String::new()]);
    }

    #[test]
    fn variants_sort_by_value_positions_first_option_first() {
        let options = shirt();
        let at = |size: &str, colour: &str| {
            position(
                &options,
                json!({"Size": size, "Colour": colour})
                    .as_object()
                    .expect("o"),
            )
        };
        let mut list = vec![
            at("L", "Red"),
            at("S", "Blue"),
            at("S", "Red"),
            at("M", "Blue"),
        ];
        list.sort();
        assert_eq!(
            list,
            vec![
                at("S", "Red"),
                at("S", "Blue"),
                at("M", "Blue"),
                at("L", "Red")
            ]
        );
    }

    #[test]
    fn a_filter_needs_a_name_and_a_value() {
        assert_eq!(filter_key("Size:M").as_deref(), Some("size\u{1f}m"));
        assert_eq!(
            filter_key(" Colour : Light Blue").as_deref(),
            Some("colour\u{1f}light blue")
        );
        assert_eq!(filter_key("Size"), None);
        assert_eq!(filter_key("Size:"), None);
        assert_eq!(filter_key(":M"), None);
    }
}
