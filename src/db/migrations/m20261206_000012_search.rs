//! The product search index, kept in the same transaction as every product write:
//! `search_terms` is the vocabulary (each word once, with its stem), `search_postings` says which
//! products have which word and whether in the name (weight 2) or only the description
//! (weight 1), with a copy of the product's `is_active` and `category_id` so that a search
//! in a category reads one index and no product row; and `search_index_state` records the language the stems were made in. Words are
//! compared byte for byte (`C` collation on PostgreSQL, `utf8mb4_bin` on MySQL), so that
//! `café` and `cafe` are two words and a prefix is a range of the index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean, integer, small_integer, string_len};

use super::create_index_once;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SearchTerms {
    Table,
    Word,
    Stem,
}

#[derive(DeriveIden)]
enum SearchPostings {
    Table,
    Word,
    ProductId,
    Weight,
    IsActive,
    CategoryId,
}

#[derive(DeriveIden)]
enum SearchIndexState {
    Table,
    Id,
    Language,
}

/// A word column compared byte for byte.
fn word(manager: &SchemaManager<'_>, name: impl IntoIden, length: u32) -> ColumnDef {
    super::exact_text(manager, name, length)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SearchTerms::Table)
                    .if_not_exists()
                    .col(word(manager, SearchTerms::Word, 40).primary_key())
                    .col(word(manager, SearchTerms::Stem, 80))
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "search_terms",
            "idx_search_terms_stem",
            Index::create().col(SearchTerms::Stem).to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchPostings::Table)
                    .if_not_exists()
                    .col(word(manager, SearchPostings::Word, 40))
                    .col(big_integer(SearchPostings::ProductId))
                    .col(small_integer(SearchPostings::Weight))
                    .col(boolean(SearchPostings::IsActive))
                    .col(big_integer(SearchPostings::CategoryId))
                    .primary_key(
                        Index::create()
                            .col(SearchPostings::Word)
                            .col(SearchPostings::ProductId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SearchPostings::Table, SearchPostings::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "search_postings",
            "idx_search_postings_product",
            Index::create().col(SearchPostings::ProductId).to_owned(),
        )
        .await?;
        // A search reads the postings of its words, of active products in its categories, with
        // their weights, from this index alone.
        create_index_once(
            manager,
            "search_postings",
            "idx_search_postings_cover",
            Index::create()
                .col(SearchPostings::Word)
                .col(SearchPostings::IsActive)
                .col(SearchPostings::CategoryId)
                .col(SearchPostings::ProductId)
                .col(SearchPostings::Weight)
                .to_owned(),
        )
        .await?;
        // Suggestions walk the words of product names in order from a prefix.
        create_index_once(
            manager,
            "search_postings",
            "idx_search_postings_weight_word",
            Index::create()
                .col(SearchPostings::Weight)
                .col(SearchPostings::Word)
                .col(SearchPostings::ProductId)
                .to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchIndexState::Table)
                    .if_not_exists()
                    .col(integer(SearchIndexState::Id).primary_key())
                    .col(string_len(SearchIndexState::Language, 32))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["search_index_state", "search_postings", "search_terms"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
