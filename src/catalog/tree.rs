//! The category tree as the catalog walks it: a category and everything below it, and the error
//! for a category that does not exist.

use std::collections::HashMap;

use crate::http::error::{ApiError, field_error};

/// `root` and every category below it, at any depth.
pub fn descendants(tree: &[(i64, Option<i64>)], root: i64) -> Vec<i64> {
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, parent) in tree {
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push(*id);
        }
    }
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        if let Some(kids) = children.get(&found[next]) {
            for kid in kids {
                if !found.contains(kid) {
                    found.push(*kid);
                }
            }
        }
        next += 1;
    }
    found
}

/// The field error for a category id that does not exist.
pub fn missing_category(field: &str, id: i64) -> ApiError {
    field_error(
        field,
        format!("Invalid pk \"{id}\" - object does not exist."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_cover_every_depth() {
        let tree = [
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (4, None),
            (5, Some(1)),
        ];
        let mut found = descendants(&tree, 1);
        found.sort_unstable();
        assert_eq!(found, [1, 2, 3, 5]);
        assert_eq!(descendants(&tree, 4), [4]);
    }
}
