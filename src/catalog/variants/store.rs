//! The variants' queries: a product's variants, one variant, the figures a product keeps of
//! its active variants, free SKUs, and the condition "has an active variant that…" the
//! product lists filter with.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::catalog::{stock_movement, variant};
use crate::db::sql::Sql;

/// The variants of these products, by product, in id order (the caller sorts them for show).
pub async fn variants_of<C: ConnectionTrait>(
    conn: &C,
    product_ids: &[i64],
) -> Result<HashMap<i64, Vec<variant::Model>>, DbErr> {
    let mut by_product: HashMap<i64, Vec<variant::Model>> = HashMap::new();
    if product_ids.is_empty() {
        return Ok(by_product);
    }
    for row in variant::Entity::find()
        .filter(variant::Column::ProductId.is_in(product_ids.iter().copied()))
        .order_by_asc(variant::Column::Id)
        .all(conn)
        .await?
    {
        by_product.entry(row.product_id).or_default().push(row);
    }
    Ok(by_product)
}

/// These variants, by id.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, variant::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(variant::Entity::find()
        .filter(variant::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect())
}

/// How many variants the product has, and the first one's id (by id).
pub async fn count_and_first<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
) -> Result<(u64, Option<i64>), DbErr> {
    let ids: Vec<i64> = variant::Entity::find()
        .select_only()
        .column(variant::Column::Id)
        .filter(variant::Column::ProductId.eq(product_id))
        .order_by_asc(variant::Column::Id)
        .limit(2)
        .into_tuple()
        .all(conn)
        .await?;
    let count = if ids.len() < 2 {
        ids.len() as u64
    } else {
        variant::Entity::find()
            .filter(variant::Column::ProductId.eq(product_id))
            .count(conn)
            .await?
    };
    Ok((count, ids.first().copied()))
}

/// Whether any order ever took units of the variant (its movements say so).
pub async fn was_ordered<C: ConnectionTrait>(conn: &C, variant_id: i64) -> Result<bool, DbErr> {
    Ok(stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.eq(variant_id))
        .filter(stock_movement::Column::Reason.eq("order"))
        .one(conn)
        .await?
        .is_some())
}

/// Sets the figures each product keeps of its active variants — the lowest price (kept as it
/// was when none is active), the sum of stock, the count — and moves its version on: one
/// statement. Call it with the products' rows locked.
pub async fn refresh_figures<C: ConnectionTrait>(
    conn: &C,
    product_ids: &[i64],
) -> Result<(), DbErr> {
    if product_ids.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    let active = |sql: &mut Sql, what: &str| {
        sql.push("(SELECT ")
            .push(what)
            .push(" FROM product_variants v WHERE v.product_id = products.id AND v.is_active = ")
            .value(true)
            .push(")");
    };
    sql.push("UPDATE products SET price = COALESCE(");
    active(&mut sql, "MIN(v.price)");
    sql.push(", price), stock = COALESCE(");
    active(&mut sql, "SUM(v.stock)");
    sql.push(", 0), active_variants = ");
    active(&mut sql, "COUNT(*)");
    sql.push(", version = version + 1 WHERE id IN ")
        .list(product_ids.iter().copied());
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Of these lower-cased SKUs, those some variant has.
pub async fn taken_skus<C: ConnectionTrait>(
    conn: &C,
    keys: &[String],
) -> Result<HashSet<String>, DbErr> {
    Ok(variant::Entity::find()
        .select_only()
        .column(variant::Column::SkuKey)
        .filter(variant::Column::SkuKey.is_in(keys.iter().cloned()))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// What a product list asks of a product's variants: an active one with all of these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariantFilter {
    /// Option keys (`name\u{1f}value`, lower-cased), every one of them.
    pub options: Vec<String>,
    /// A lower-cased SKU.
    pub sku: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Only in stock.
    pub in_stock: bool,
}

impl VariantFilter {
    /// Whether it asks anything.
    pub fn is_empty(&self) -> bool {
        *self == VariantFilter::default()
    }

    /// The condition on variant columns (as in `product_variants`).
    pub fn condition(&self) -> Condition {
        let mut condition = Condition::all().add(variant::Column::IsActive.eq(true));
        for key in &self.options {
            condition = condition.add(
                Condition::any()
                    .add(variant::Column::Option1.eq(key.as_str()))
                    .add(variant::Column::Option2.eq(key.as_str()))
                    .add(variant::Column::Option3.eq(key.as_str())),
            );
        }
        if let Some(sku) = &self.sku {
            condition = condition.add(variant::Column::SkuKey.eq(sku.as_str()));
        }
        if let Some(min) = self.min_price {
            condition = condition.add(variant::Column::Price.gte(min));
        }
        if let Some(max) = self.max_price {
            condition = condition.add(variant::Column::Price.lte(max));
        }
        if self.in_stock {
            condition = condition.add(variant::Column::Stock.gt(0));
        }
        condition
    }

    /// `SELECT product_id FROM product_variants WHERE …`: the products it admits.
    pub fn products(&self) -> SelectStatement {
        Query::select()
            .column(variant::Column::ProductId)
            .from(variant::Entity)
            .cond_where(self.condition())
            .to_owned()
    }
}
