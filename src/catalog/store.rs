//! The catalog's queries: free slugs and inserts that retry when a parallel insert took the
//! slug, the category tree, product pages with their categories and images, LIKE escaping, and
//! how a failed write of a category or product reads to the client.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};

use crate::db::like_escape;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IdenStatic,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::products::filter::{ProductFilter, sku_searched};
use super::search::query::{Narrowing, Order};
use super::search::{Facets, SearchBackend};
use super::tree::{descendants, missing_category};
use super::variants::store::variants_of;
use super::{category, product, product_image, variant};

/// A product with its category and images, ready for a view.
#[derive(Clone, Debug)]
pub struct ProductRow {
    pub product: product::Model,
    pub category: category::Model,
    pub images: Vec<product_image::Model>,
    /// Every variant, in id order (views pick and sort).
    pub variants: Vec<variant::Model>,
}
use crate::db;
use crate::http::error::{ApiError, field_error, internal, not_found};
use crate::money::Currency;

/// Which table a slug must be unique in.
#[derive(Clone, Copy)]
pub(super) enum Slugged {
    Category,
    Product,
}

/// `base`, or `base-2`, `base-3`… whichever is free (the unique index still has the last word).
pub(super) async fn free_slug<C: ConnectionTrait>(
    conn: &C,
    table: Slugged,
    base: &str,
) -> Result<String, DbErr> {
    let pattern = LikeExpr::new(format!("{}%", like_escape(base))).escape('\\');
    let taken: HashSet<String> = match table {
        Slugged::Category => category::Entity::find()
            .select_only()
            .column(category::Column::Slug)
            .filter(Expr::col(category::Column::Slug).like(pattern))
            .into_tuple::<String>()
            .all(conn)
            .await?
            .into_iter()
            .collect(),
        Slugged::Product => product::Entity::find()
            .select_only()
            .column(product::Column::Slug)
            .filter(Expr::col(product::Column::Slug).like(pattern))
            .into_tuple::<String>()
            .all(conn)
            .await?
            .into_iter()
            .collect(),
    };
    if !taken.contains(base) {
        return Ok(base.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| format!("{base}-{}", uuid::Uuid::new_v4().simple())))
}

/// A slug after `taken` was found taken by a parallel insert: the base with a random suffix
/// (a new look at the table could miss the other row under MySQL's repeatable read).
pub(super) fn fresh_slug(base: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{base}-{}", &suffix[..8])
}

/// How often an insert with a generated slug is tried before giving up.
pub(super) const SLUG_ATTEMPTS: usize = 5;

/// Inserts `row` with `slug` set, in a savepoint of `tx`. When the slug was generated
/// (`generated`), a unique violation — a parallel insert took the same slug — is answered by
/// trying a fresh one; a slug the client chose is theirs to fix (400 on `slug`).
pub(super) async fn insert_slugged<A>(
    tx: &sea_orm::DatabaseTransaction,
    mut row: A,
    slug: String,
    generated: bool,
    what: &str,
) -> Result<<A::Entity as EntityTrait>::Model, ApiError>
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send + Clone + SlugField,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::TransactionTrait;
    let base = slug.clone();
    let mut slug = slug;
    for attempt in 1..=SLUG_ATTEMPTS {
        row.set_slug(slug.clone());
        let savepoint = tx.begin().await?;
        match row.clone().insert(&savepoint).await {
            Ok(model) => {
                savepoint.commit().await?;
                return Ok(model);
            }
            Err(e) if generated && db::is_unique_violation(&e) && attempt < SLUG_ATTEMPTS => {
                savepoint.rollback().await?;
                slug = fresh_slug(&base);
            }
            Err(e) => {
                savepoint.rollback().await?;
                return Err(slug_error(e, what));
            }
        }
    }
    Err(internal("no free slug after several attempts"))
}

/// A row whose slug [`insert_slugged`] can set.
pub(super) trait SlugField {
    fn set_slug(&mut self, slug: String);
}

impl SlugField for category::ActiveModel {
    fn set_slug(&mut self, slug: String) {
        self.slug = Set(slug);
    }
}

impl SlugField for product::ActiveModel {
    fn set_slug(&mut self, slug: String) {
        self.slug = Set(slug);
    }
}

/// A failed write of a category or product as the client should see it: a taken slug is a
/// 400 on `slug`; a parent or category deleted by a parallel request after it was checked is a
/// 400 on that field (`parent` for a category, `category` for a product).
pub(super) fn slug_error(error: DbErr, what: &str) -> ApiError {
    if db::is_foreign_key_violation(&error) {
        let field = if what == "category" {
            "parent"
        } else {
            "category"
        };
        return field_error(field, "The referenced category no longer exists.");
    }
    crate::http::error::unique_field_error(
        error,
        "slug",
        format!("{what} with this slug already exists."),
    )
}

/// `(id, parent)` of every category: the tree is small and read whole.
pub(super) async fn tree<C: ConnectionTrait>(conn: &C) -> Result<Vec<(i64, Option<i64>)>, DbErr> {
    category::Entity::find()
        .select_only()
        .column(category::Column::Id)
        .column(category::Column::ParentId)
        .into_tuple()
        .all(conn)
        .await
}

/// Images of many products in one query, primary first.
pub async fn images_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<product_image::Model>>, DbErr> {
    let mut by_product: HashMap<i64, Vec<product_image::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_product);
    }
    let rows = product_image::Entity::find()
        .filter(product_image::Column::ProductId.is_in(ids.iter().copied()))
        .order_by_desc(product_image::Column::IsPrimary)
        .order_by_asc(product_image::Column::Id)
        .all(conn)
        .await?;
    for row in rows {
        by_product.entry(row.product_id).or_default().push(row);
    }
    Ok(by_product)
}

/// The category filter as the ids it admits (the category and its sub-categories); an unknown
/// category is a 400 on `category`.
async fn category_ids(
    db: &sea_orm::DatabaseConnection,
    filter: &ProductFilter,
) -> Result<Option<Vec<i64>>, ApiError> {
    let Some(root) = filter.category else {
        return Ok(None);
    };
    let tree = tree(db).await?;
    if !tree.iter().any(|(id, _)| *id == root) {
        return Err(field_error(
            "category",
            "Select a valid choice. That choice is not one of the available choices.",
        ));
    }
    Ok(Some(descendants(&tree, root)))
}

/// The filters besides `search` in the form the search queries take.
async fn narrowing(
    db: &sea_orm::DatabaseConnection,
    filter: &ProductFilter,
    include_inactive: bool,
) -> Result<Narrowing, ApiError> {
    Ok(Narrowing {
        include_inactive,
        categories: category_ids(db, filter).await?,
        variants: filter.variant_filter(),
        out_of_stock: filter.in_stock == Some(false),
    })
}

/// A column to order by and whether descending, from an `ordering` (default newest first).
fn ordering(ordering: Option<&str>) -> (product::Column, bool) {
    match ordering.unwrap_or("-created_at") {
        "price" => (product::Column::Price, false),
        "-price" => (product::Column::Price, true),
        "name" => (product::Column::Name, false),
        "-name" => (product::Column::Name, true),
        "created_at" => (product::Column::CreatedAt, false),
        _ => (product::Column::CreatedAt, true),
    }
}

/// One page of products: a count, the page joined with its categories, and the page's images
/// and variants — four queries (five with a category filter) whatever the page size. With
/// `search`, the search backend picks and orders the page (relevance unless an `ordering` is
/// given); a search that is a variant's SKU lists its product.
pub async fn list_products(
    db: &sea_orm::DatabaseConnection,
    search: &impl SearchBackend,
    filter: &ProductFilter,
    include_inactive: bool,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<ProductRow>), ApiError> {
    let by_sku = sku_searched(db, filter).await?;
    let filter = by_sku.as_ref().unwrap_or(filter);
    if !filter.search.is_empty() {
        let narrowing = narrowing(db, filter, include_inactive).await?;
        let order = match filter.ordering {
            None => Order::Relevance,
            Some(text) => {
                let (column, descending) = ordering(Some(text));
                Order::Column {
                    column: column.as_str(),
                    descending,
                }
            }
        };
        let (count, ids) = search
            .page(db, &filter.search, &narrowing, order, offset, limit)
            .await?;
        return Ok((count, products_in_order(db, &ids, include_inactive).await?));
    }
    let mut condition = Condition::all();
    if !include_inactive {
        condition = condition
            .add(product::Column::IsActive.eq(true))
            .add(product::Column::ActiveVariants.gt(0));
    }
    if let Some(ids) = category_ids(db, filter).await? {
        condition = condition.add(product::Column::CategoryId.is_in(ids));
    }
    let variants = filter.variant_filter();
    if !variants.is_empty() {
        condition = condition.add(product::Column::Id.in_subquery(variants.products()));
    }
    if filter.in_stock == Some(false) {
        condition = condition.add(product::Column::Stock.eq(0));
    }
    let query = product::Entity::find().filter(condition);
    let count = query.clone().count(db).await?;
    let (column, descending) = ordering(filter.ordering);
    let ordered = if descending {
        query
            .order_by_desc(column)
            .order_by_desc(product::Column::Id)
    } else {
        query.order_by_asc(column).order_by_asc(product::Column::Id)
    };
    let page = ordered
        .find_also_related(category::Entity)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((count, with_images(db, page).await?))
}

/// Products by id with their categories and images, in the order of `ids`.
async fn products_in_order(
    db: &sea_orm::DatabaseConnection,
    ids: &[i64],
    include_inactive: bool,
) -> Result<Vec<ProductRow>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut condition = Condition::all().add(product::Column::Id.is_in(ids.iter().copied()));
    if !include_inactive {
        // The index says shown; the row has the last word.
        condition = condition
            .add(product::Column::IsActive.eq(true))
            .add(product::Column::ActiveVariants.gt(0));
    }
    let mut found = product::Entity::find()
        .filter(condition)
        .find_also_related(category::Entity)
        .all(db)
        .await?;
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    found.sort_by_key(|(p, _)| position.get(&p.id).copied().unwrap_or(usize::MAX));
    with_images(db, found).await
}

/// Rows for a page of products and their categories, with their images and variants (two
/// queries).
async fn with_images(
    db: &sea_orm::DatabaseConnection,
    page: Vec<(product::Model, Option<category::Model>)>,
) -> Result<Vec<ProductRow>, ApiError> {
    let ids: Vec<i64> = page.iter().map(|(p, _)| p.id).collect();
    let mut images = images_of(db, &ids).await?;
    let mut variants = variants_of(db, &ids).await?;
    page.into_iter()
        .map(|(product, category)| {
            let category = category
                .ok_or_else(|| internal(format!("product {} has no category", product.id)))?;
            let images = images.remove(&product.id).unwrap_or_default();
            let variants = variants.remove(&product.id).unwrap_or_default();
            Ok(ProductRow {
                product,
                category,
                images,
                variants,
            })
        })
        .collect()
}

/// Facet counts for the products the list's filters select (ordering and pages aside).
pub async fn product_facets(
    db: &sea_orm::DatabaseConnection,
    search: &impl SearchBackend,
    filter: &ProductFilter,
    include_inactive: bool,
    currency: Currency,
) -> Result<Facets, ApiError> {
    let by_sku = sku_searched(db, filter).await?;
    let filter = by_sku.as_ref().unwrap_or(filter);
    let narrowing = narrowing(db, filter, include_inactive).await?;
    Ok(search
        .facets(db, &filter.search, &narrowing, currency)
        .await?)
}

/// Whether shoppers see the product: active, with an active variant.
pub fn visible(product: &product::Model) -> bool {
    product.is_active && product.active_variants > 0
}

/// One product; one shoppers do not see is "not found" unless `include_inactive` (staff).
pub async fn get_product<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    include_inactive: bool,
) -> Result<ProductRow, ApiError> {
    let (product, category) = product::Entity::find_by_id(id)
        .find_also_related(category::Entity)
        .one(conn)
        .await?
        .ok_or_else(not_found)?;
    if !visible(&product) && !include_inactive {
        return Err(not_found());
    }
    let category = category.ok_or_else(|| internal(format!("product {id} has no category")))?;
    let images = images_of(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let variants = variants_of(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(ProductRow {
        product,
        category,
        images,
        variants,
    })
}

pub(super) async fn check_category<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), ApiError> {
    if category::Entity::find_by_id(id).one(conn).await?.is_none() {
        return Err(missing_category("category", id));
    }
    Ok(())
}

/// Moves a product's version on (its images changed) and returns the new one.
pub(super) async fn touch<C: ConnectionTrait>(conn: &C, id: i64) -> Result<i64, DbErr> {
    product::Entity::update_many()
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(id))
        .exec(conn)
        .await?;
    product::Entity::find_by_id(id)
        .select_only()
        .column(product::Column::Version)
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("product {id}")))
}

/// Moves the product's count of reviews by `count` and the sum of ratings by `total`, and its
/// version (cached responses show the rating); returns the new version.
pub async fn rate<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
    count: i64,
    total: i64,
) -> Result<i64, DbErr> {
    product::Entity::update_many()
        .col_expr(
            product::Column::ReviewCount,
            Expr::col(product::Column::ReviewCount).add(count),
        )
        .col_expr(
            product::Column::RatingTotal,
            Expr::col(product::Column::RatingTotal).add(total),
        )
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    product::Entity::find_by_id(product_id)
        .select_only()
        .column(product::Column::Version)
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("product {product_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
    }
}
