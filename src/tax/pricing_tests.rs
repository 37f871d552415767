//! The pricing rules pinned with amounts worked out by hand (the working is in each comment).

use super::*;
use crate::shipping::rules::{Band, Tariff};

fn line(amount: i64, class: &str) -> Line {
    Line {
        amount,
        weight_grams: 0,
        tax_class: class.to_owned(),
    }
}

fn rates(entries: &[(&str, &str, i64)]) -> Rates {
    entries
        .iter()
        .map(|(class, name, rate)| {
            (
                (*class).to_owned(),
                Rate {
                    name: (*name).to_owned(),
                    rate: *rate,
                },
            )
        })
        .collect()
}

fn flat(price: i64, class: &str) -> MethodRule {
    MethodRule {
        tariff: Tariff::Flat(price),
        free_over: None,
        tax_class: class.to_owned(),
    }
}

fn basket<'a>(lines: &'a [Line], discount: i64, rates: Option<&'a Rates>) -> Basket<'a> {
    Basket {
        lines,
        discount,
        method: None,
        rates,
        prices_include_tax: false,
    }
}

#[test]
fn a_five_dollar_discount_over_ten_ten_and_ten_oh_one() {
    // Subtotal 30.01. Shares ⌊500·1000/3001⌋ = 166, 166, ⌊500·1001/3001⌋ = 166: 498 given, 2
    // left: one to 10.01 (the largest), one to the first 10.00 (the earlier of the tie).
    assert_eq!(
        discount_shares(&[1000, 1000, 1001], 500),
        vec![167, 166, 167]
    );
    // At 20 % added: 833 × 0.2 = 166.6 → 167; 834 × 0.2 = 166.8 → 167; 834 → 167.
    let lines = [
        line(1000, "standard"),
        line(1000, "standard"),
        line(1001, "standard"),
    ];
    let vat = rates(&[("standard", "VAT", 200_000)]);
    let priced = price(&basket(&lines, 500, Some(&vat))).expect("priced");
    let taxes: Vec<i64> = priced.lines.iter().map(|l| l.tax).collect();
    assert_eq!(taxes, vec![167, 167, 167]);
    assert_eq!(priced.tax, Some(501));
    // 30.01 − 5.00 + 5.01 = 30.02.
    assert_eq!(priced.total, 3002);
    assert_eq!(
        priced.tax_lines,
        vec![TaxLine {
            name: "VAT".to_owned(),
            rate: 200_000,
            amount: 501
        }]
    );
}

#[test]
fn a_twelve_and_a_half_percent_coupon_on_small_amounts() {
    // 0.33 + 0.33 + 0.34 = 1.00; 12.5 % of it is 12.5 → 13 (the coupon rounds half-up).
    // Shares ⌊13·33/100⌋ = 4, 4, ⌊13·34/100⌋ = 4: one left, to 0.34 → 4, 4, 5.
    assert_eq!(discount_shares(&[33, 33, 34], 13), vec![4, 4, 5]);
    // Each line is 29 after its share; 29 × 0.2 = 5.8 → 6, three times: 18.
    let lines = [
        line(33, "standard"),
        line(33, "standard"),
        line(34, "standard"),
    ];
    let vat = rates(&[("standard", "VAT", 200_000)]);
    let priced = price(&basket(&lines, 13, Some(&vat))).expect("priced");
    assert_eq!(priced.tax, Some(18));
    // 1.00 − 0.13 + 0.18 = 1.05.
    assert_eq!(priced.total, 105);
}

#[test]
fn a_reduced_rate_line_with_prices_that_include_tax() {
    // Gross 20.00 at 20 %: 2000 − 2000/1.2 = 333.33 → 333. Gross 10.00 at 5.5 %:
    // 1000 − 1000/1.055 = 52.13 → 52. The total stays 30.00; two VAT lines, one per rate.
    let lines = [line(2000, "standard"), line(1000, "reduced")];
    let vat = rates(&[("standard", "VAT", 200_000), ("reduced", "VAT", 55_000)]);
    let priced = price(&Basket {
        prices_include_tax: true,
        ..basket(&lines, 0, Some(&vat))
    })
    .expect("priced");
    assert_eq!(priced.tax, Some(385));
    assert_eq!(priced.total, 3000);
    assert_eq!(
        priced.tax_lines,
        vec![
            TaxLine {
                name: "VAT".to_owned(),
                rate: 200_000,
                amount: 333
            },
            TaxLine {
                name: "VAT".to_owned(),
                rate: 55_000,
                amount: 52
            },
        ]
    );
}

#[test]
fn a_region_rate_added_to_net_prices_with_taxed_shipping() {
    // New York's 8.875 % (the region's rate, which replaced the country's): 10.00 × 0.08875 =
    // 0.8875 → 0.89; shipping 5.00 at the same class: 0.44375 → 0.44. Tax 1.33;
    // total 10.00 + 5.00 + 1.33 = 16.33.
    let lines = [line(1000, "standard")];
    let ny = rates(&[("standard", "Sales tax", 88_750)]);
    let method = flat(500, "standard");
    let priced = price(&Basket {
        method: Some(&method),
        ..basket(&lines, 0, Some(&ny))
    })
    .expect("priced");
    assert_eq!(priced.lines[0].tax, 89);
    assert_eq!(priced.shipping, Some(500));
    assert_eq!(priced.shipping_tax.tax, 44);
    assert_eq!(priced.tax, Some(133));
    assert_eq!(priced.total, 1633);
    assert_eq!(format_rate(88_750), "8.875");
}

#[test]
fn an_empty_basket_costs_nothing_to_ship_even_with_a_method_chosen() {
    let ny = rates(&[("standard", "Sales tax", 88_750)]);
    let method = flat(500, "standard");
    let priced = price(&Basket {
        method: Some(&method),
        ..basket(&[], 0, Some(&ny))
    })
    .expect("priced");
    assert_eq!(priced.shipping, Some(0));
    assert_eq!(priced.tax, Some(0));
    assert_eq!(priced.total, 0);
}

#[test]
fn shipping_taken_inclusive_and_at_its_own_class() {
    // Gross line 12.00 at 20 %: 2.00. Shipping 6.00 at class "zero" (rate 0 %): no tax, no
    // zero tax line. Total 12.00 + 6.00 = 18.00.
    let lines = [line(1200, "standard")];
    let vat = rates(&[("standard", "VAT", 200_000), ("zero", "VAT", 0)]);
    let method = flat(600, "zero");
    let priced = price(&Basket {
        method: Some(&method),
        prices_include_tax: true,
        ..basket(&lines, 0, Some(&vat))
    })
    .expect("priced");
    assert_eq!(priced.tax, Some(200));
    assert_eq!(priced.total, 1800);
    assert_eq!(priced.tax_lines.len(), 1);
}

#[test]
fn no_destination_no_tax_and_a_class_without_a_rate_is_untaxed() {
    let lines = [line(1000, "standard"), line(500, "books")];
    let priced = price(&basket(&lines, 0, None)).expect("priced");
    assert_eq!(
        (priced.tax, priced.shipping, priced.total),
        (None, None, 1500)
    );
    let vat = rates(&[("standard", "VAT", 200_000)]);
    let priced = price(&basket(&lines, 0, Some(&vat))).expect("priced");
    assert_eq!(priced.tax, Some(200));
    assert_eq!(priced.lines[1], Taxed::default());
    let empty = Rates::new();
    let priced = price(&basket(&lines, 0, Some(&empty))).expect("priced");
    assert_eq!((priced.tax, priced.tax_lines.len()), (Some(0), 0));
}

#[test]
fn free_over_looks_at_the_subtotal_after_discount_and_weight_decides_the_band() {
    let heavy = Line {
        amount: 6000,
        weight_grams: 1500,
        tax_class: "standard".to_owned(),
    };
    let method = MethodRule {
        tariff: Tariff::Weight(vec![Band {
            up_to_grams: 1000,
            price: 400,
        }]),
        free_over: Some(5000),
        tax_class: "standard".to_owned(),
    };
    let lines = [heavy.clone()];
    let b = Basket {
        method: Some(&method),
        ..basket(&lines, 1001, None)
    };
    assert_eq!(price(&b), Err(TooHeavy));
    let light = [Line {
        weight_grams: 1000,
        ..heavy
    }];
    // 60.00 − 10.01 = 49.99 is under 50.00: the band's 4.00.
    let b = Basket {
        method: Some(&method),
        ..basket(&light, 1001, None)
    };
    assert_eq!(price(&b).expect("priced").shipping, Some(400));
    // 60.00 − 10.00 = 50.00: free.
    let b = Basket {
        method: Some(&method),
        ..basket(&light, 1000, None)
    };
    assert_eq!(price(&b).expect("priced").shipping, Some(0));
}

#[test]
fn the_discount_never_takes_more_than_a_line_holds() {
    // All of 10.00 off 3.00 + 7.00: shares are the amounts; nothing left to tax.
    assert_eq!(discount_shares(&[300, 700], 1000), vec![300, 700]);
    // A zero line takes no share even in a tie for the leftover.
    assert_eq!(discount_shares(&[0, 1, 1], 1), vec![0, 1, 0]);
    assert_eq!(discount_shares(&[], 0), Vec::<i64>::new());
}

#[test]
fn half_up_at_the_half_both_ways() {
    // 0.25 × 10 % = 0.025 → 0.03 added; gross 0.21 at 10 %: 0.21 − 0.21/1.1 = 0.0190909 → 0.02.
    assert_eq!(tax_on(25, 100_000, false), 3);
    assert_eq!(tax_on(21, 100_000, true), 2);
    // Gross 0.11 at 10 %: exactly 0.01.
    assert_eq!(tax_on(11, 100_000, true), 1);
    assert_eq!(tax_on(0, 200_000, false), 0);
}

#[test]
fn rates_read_and_written_as_percentages() {
    assert_eq!(parse_rate("20"), Some(200_000));
    assert_eq!(parse_rate("20.00"), Some(200_000));
    assert_eq!(parse_rate("8.875"), Some(88_750));
    assert_eq!(parse_rate("0"), Some(0));
    assert_eq!(parse_rate("100"), Some(1_000_000));
    for bad in ["100.01", "-1", "1e2", "", ".5", "5.12345", "abc", "1000"] {
        assert_eq!(parse_rate(bad), None, "{bad}");
    }
    assert_eq!(format_rate(200_000), "20.00");
    assert_eq!(format_rate(55_000), "5.50");
    assert_eq!(format_rate(0), "0.00");
    assert_eq!(format_rate(1_000_000), "100.00");
}
