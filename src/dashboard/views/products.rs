//! The catalog's pages: the products list, a new product, a product with its options,
//! variants, images and stock, a variant's movements, and the variants low on stock.

use askama::Template;

use super::Layout;
use super::forms::FormErrors;
use super::pager::Pager;
use crate::catalog::category;

/// A category in a select, indented by its depth in the tree.
pub struct CategoryChoice {
    pub id: i64,
    pub label: String,
}

/// The categories as a tree, depth first, each name indented by its depth.
pub fn category_choices(categories: &[category::Model]) -> Vec<CategoryChoice> {
    fn walk(
        all: &[category::Model],
        parent: Option<i64>,
        depth: usize,
        out: &mut Vec<CategoryChoice>,
    ) {
        if depth > 32 {
            return;
        }
        let mut children: Vec<&category::Model> =
            all.iter().filter(|c| c.parent_id == parent).collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        for child in children {
            out.push(CategoryChoice {
                id: child.id,
                label: format!("{}{}", "— ".repeat(depth), child.name),
            });
            walk(all, Some(child.id), depth + 1, out);
        }
    }
    let mut out = Vec::with_capacity(categories.len());
    walk(categories, None, 0, &mut out);
    out
}

/// One row of the products list.
pub struct ProductRowView {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub variants: usize,
    pub price: String,
    pub stock: i64,
    pub is_active: bool,
}

/// The list's filters as typed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ProductQuery {
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub in_stock: String,
    #[serde(default)]
    pub ordering: String,
    pub page: Option<String>,
}

impl ProductQuery {
    pub fn pairs(&self) -> [(&str, &str); 4] {
        [
            ("search", self.search.as_str()),
            ("category", self.category.as_str()),
            ("in_stock", self.in_stock.as_str()),
            ("ordering", self.ordering.as_str()),
        ]
    }
}

#[derive(Template)]
#[template(path = "products.html")]
pub struct ProductsPage {
    pub layout: Layout,
    pub query: ProductQuery,
    pub categories: Vec<CategoryChoice>,
    pub orderings: &'static [&'static str],
    pub rows: Vec<ProductRowView>,
    pub pager: Pager,
    pub errors: FormErrors,
}

/// A product's own fields as the form shows them (typed, or as stored).
#[derive(Debug, Default)]
pub struct ProductFields {
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: String,
    pub stock: String,
    pub is_active: bool,
    /// Three rows of (option name, its values separated by commas).
    pub options: [(String, String); 3],
}

#[derive(Template)]
#[template(path = "product_new.html")]
pub struct NewProductPage {
    pub layout: Layout,
    pub fields: ProductFields,
    pub categories: Vec<CategoryChoice>,
    pub errors: FormErrors,
}

/// A variant's row on its product's page.
pub struct VariantRow {
    pub id: i64,
    pub sku: String,
    pub options: String,
    pub price: String,
    pub compare_at_price: String,
    pub stock: i64,
    pub is_active: bool,
    pub low: bool,
}

/// An image on its product's page.
pub struct ImageTile {
    pub id: i64,
    pub small: String,
    pub is_primary: bool,
}

/// An option with its values, for the add-variant form's selects.
pub struct OptionChoice {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductPage {
    pub layout: Layout,
    pub id: i64,
    pub fields: ProductFields,
    pub categories: Vec<CategoryChoice>,
    /// A product with one variant edits its price and stock on the product.
    pub single: bool,
    pub variants: Vec<VariantRow>,
    pub options: Vec<OptionChoice>,
    pub images: Vec<ImageTile>,
    pub missing_combinations: usize,
    /// A token per render for the stock forms: a form posted twice moves the stock once.
    pub form_key: String,
    /// Which form the errors are of (`product`, `variant:{id}`, `new-variant`, `stock:{id}`,
    /// `combinations`, `image`).
    pub errors_of: String,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}

impl ProductPage {
    /// The errors when they are of form `name`, else none.
    pub fn errors_for(&self, name: &str) -> &FormErrors {
        static NONE: std::sync::OnceLock<FormErrors> = std::sync::OnceLock::new();
        if self.errors_of == name {
            &self.errors
        } else {
            NONE.get_or_init(FormErrors::none)
        }
    }

    pub fn variant_form(&self, id: &i64) -> String {
        format!("variant:{id}")
    }

    pub fn stock_form(&self, id: &i64) -> String {
        format!("stock:{id}")
    }
}

/// A stock movement.
pub struct MovementRow {
    pub at: String,
    pub delta: i64,
    pub stock_after: i64,
    pub reason: String,
    pub reference: String,
}

#[derive(Template)]
#[template(path = "movements.html")]
pub struct MovementsPage {
    pub layout: Layout,
    pub product_id: i64,
    pub label: String,
    pub stock: i64,
    pub rows: Vec<MovementRow>,
    pub pager: Pager,
}

/// A variant low on stock.
pub struct LowStockRow {
    pub product_id: i64,
    pub product: String,
    pub sku: String,
    pub stock: i64,
}

#[derive(Template)]
#[template(path = "low_stock.html")]
pub struct LowStockPage {
    pub layout: Layout,
    pub threshold: i64,
    pub rows: Vec<LowStockRow>,
    pub pager: Pager,
}
