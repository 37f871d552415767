//! Settings read from maps, as the environment would give them.

use super::*;

fn settings(pairs: &[(&'static str, &str)]) -> Result<Settings, SettingsError> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut map: HashMap<&'static str, String> =
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    map.entry("EMPORIUM_SECRET_KEY")
        .or_insert_with(|| "k".repeat(32));
    Settings::from_source(&map, dir.path())
}

#[test]
fn nothing_configured_gives_the_embedded_defaults() {
    let s = settings(&[]).expect("defaults are valid");
    assert_eq!(s.database_url, "sqlite://emporium.db?mode=rwc");
    assert_eq!(s.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(s.currency, Currency::USD);
    assert_eq!(s.max_body_size, 2 * 1024 * 1024);
    assert!(s.cors_origins.is_empty());
    assert_eq!((s.cart.max_lines, s.cart.max_quantity), (100, 10_000));
    assert_eq!(s.orders.payment_timeout, Duration::from_secs(30 * 60));
    assert_eq!(s.orders.low_stock_threshold, 5);
    assert_eq!(s.cart.retention, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(
        s.cart.coupon_failures,
        Some(Rate {
            limit: 20,
            period: Duration::from_secs(3600)
        })
    );
}

#[test]
fn a_bad_value_names_its_variable() {
    let cases: &[(&'static str, &str)] = &[
        ("EMPORIUM_LISTEN", "localhost"),
        ("EMPORIUM_CURRENCY", "XYZ"),
        ("EMPORIUM_REQUEST_TIMEOUT", "soon"),
        ("EMPORIUM_MAX_BODY_SIZE", "-1"),
        ("EMPORIUM_LOG_FORMAT", "xml"),
        ("EMPORIUM_CORS_ORIGINS", "*"),
        ("EMPORIUM_CORS_ORIGINS", "https://shop.example/path"),
        ("EMPORIUM_TRUSTED_PROXIES", "10.0.0.0/99"),
        ("EMPORIUM_PUBLIC_URL", "shop.example"),
        ("EMPORIUM_SECRET_KEY", "short"),
        ("DATABASE_URL", "oracle://db"),
        ("EMPORIUM_WORKERS", "0"),
        ("EMPORIUM_JOB_LEASE", "0s"),
        ("EMAIL_URL", "sendmail"),
        ("EMAIL_FROM", "not an address"),
        ("EMPORIUM_MEDIA_STORE", "ftp://bucket"),
        ("EMPORIUM_MEDIA_URL", "cdn.example"),
        ("EMPORIUM_ACCESS_TTL", "five minutes"),
        ("REDIS_URL", "memcached://x"),
        ("EMPORIUM_LOGIN_MAX_FAILURES", "none"),
        ("EMPORIUM_THROTTLE_ANON", "lots"),
        ("EMPORIUM_THROTTLE_USER", "10/fortnight"),
        ("EMPORIUM_HASH_CONCURRENCY", "0"),
        ("EMPORIUM_HASH_QUEUE", "-1"),
        ("EMPORIUM_REFRESH_REUSE_GRACE", "2m"),
        ("EMPORIUM_JOB_RETENTION", "forever"),
        ("EMPORIUM_CART_MAX_LINES", "0"),
        ("EMPORIUM_CART_MAX_LINES", "1001"),
        ("EMPORIUM_CART_MAX_QUANTITY", "2000000"),
        ("EMPORIUM_CART_RETENTION", "a month"),
        ("EMPORIUM_THROTTLE_COUPON", "many"),
        ("EMPORIUM_ORDER_PAYMENT_TIMEOUT", "half an hour"),
        ("EMPORIUM_LOW_STOCK_THRESHOLD", "-1"),
        ("EMPORIUM_PAYMENT_PROVIDER", "paypal"),
        ("EMPORIUM_CACHE_WRITE_WINDOW", "100ms"),
        ("EMPORIUM_CACHE_WRITE_WINDOW", "2h"),
        ("EMPORIUM_REPLICA_MAX_LAG", "a while"),
        ("DATABASE_REPLICA_URL", "postgres://replica/shop"),
    ];
    for (name, bad) in cases {
        let err = settings(&[(name, bad)]).expect_err("must be refused");
        assert_eq!(err.name, *name, "{bad:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("invalid setting {name}: "))
        );
    }
}

#[test]
fn a_replica_is_of_the_primary_s_engine() {
    let primary = ("DATABASE_URL", "postgres://primary/shop");
    let s = settings(&[primary, ("DATABASE_REPLICA_URL", "postgres://replica/shop")])
        .expect("a PostgreSQL replica of a PostgreSQL primary");
    let replica = s.replica.expect("the replica");
    assert_eq!(replica.url, "postgres://replica/shop");
    assert_eq!(replica.max_lag, std::time::Duration::from_secs(5));
    let other = settings(&[primary, ("DATABASE_REPLICA_URL", "mysql://replica/shop")]);
    assert_eq!(
        other.expect_err("another engine").name,
        "DATABASE_REPLICA_URL"
    );
    assert!(settings(&[primary]).expect("no replica").replica.is_none());
}

#[test]
fn stripe_needs_its_keys_and_keeps_them_out_of_debug() {
    let err = settings(&[("EMPORIUM_PAYMENT_PROVIDER", "stripe")]).expect_err("no keys");
    assert_eq!(err.name, "STRIPE_SECRET_KEY");
    let s = settings(&[
        ("EMPORIUM_PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", "sk_test_123"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_456"),
    ])
    .expect("valid");
    let PaymentSettings::Stripe(stripe) = &s.payments else {
        panic!("stripe")
    };
    assert_eq!(stripe.api_base, "https://api.stripe.com");
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("sk_test_123") && !shown.contains("whsec_456"),
        "{shown}"
    );
}

#[test]
fn the_generated_secret_is_kept_and_reused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let map: HashMap<&'static str, String> = HashMap::new();
    let first = Settings::from_source(&map, dir.path()).expect("valid");
    let second = Settings::from_source(&map, dir.path()).expect("valid");
    assert_eq!(first.secret_key.expose(), second.secret_key.expose());
    assert_eq!(first.secret_origin, SecretOrigin::File);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
            .expect("key file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn email_and_media_settings_are_read() {
    let s = settings(&[
        ("EMAIL_URL", "smtp://user:p%40ss@mail.example:2525"),
        ("EMAIL_FROM", "Shop <shop@example.com>"),
        ("EMPORIUM_MEDIA_STORE", "s3://media-bucket/shop/images/"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ("AWS_ALLOW_HTTP", "true"),
        ("EMPORIUM_MEDIA_URL", "https://cdn.example/media/"),
    ])
    .expect("valid");
    assert_eq!(
        s.email_transport,
        EmailTransport::Smtp(SecretUrl::new(
            "smtp://user:p%40ss@mail.example:2525?tls=opportunistic"
        ))
    );
    let MediaStore::S3(s3) = &s.media.store else {
        panic!("expected S3")
    };
    assert_eq!(
        (s3.bucket.as_str(), s3.prefix.as_str()),
        ("media-bucket", "shop/images")
    );
    assert!(s3.allow_http);
    assert_eq!(s.media.url.as_deref(), Some("https://cdn.example/media"));
    let plain = settings(&[("EMAIL_URL", "smtp://127.0.0.1:2525?tls=none")]).expect("valid");
    assert_eq!(
        plain.email_transport,
        EmailTransport::Smtp(SecretUrl::new("smtp://127.0.0.1:2525"))
    );
}

#[test]
fn debug_output_shows_no_credentials() {
    let s = settings(&[
        (
            "DATABASE_URL",
            "postgres://shop:db-pass-1@db.example:5432/shop",
        ),
        ("REDIS_URL", "redis://:redis-pass-2@cache.example:6379/0"),
        ("EMAIL_URL", "smtps://mailer:mail-pass-3@smtp.example"),
        ("EMPORIUM_MEDIA_STORE", "s3://bucket"),
        ("AWS_SECRET_ACCESS_KEY", "aws-pass-4"),
    ])
    .expect("valid");
    let shown = format!("{s:?}");
    for secret in [
        "db-pass-1",
        "redis-pass-2",
        "mail-pass-3",
        "aws-pass-4",
        &"k".repeat(32),
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("postgres://shop:***@db.example:5432/shop"),
        "{shown}"
    );
    assert_eq!(
        s.database_url.as_str(),
        "postgres://shop:db-pass-1@db.example:5432/shop"
    );
}

#[test]
fn throttle_and_hashing_settings_have_defaults_and_off() {
    let s = settings(&[]).expect("defaults");
    assert_eq!(s.throttle_anon.map(|r| r.limit), Some(6000));
    assert_eq!(
        s.throttle_user.map(|r| r.period),
        Some(Duration::from_secs(60))
    );
    assert!(s.hash_concurrency >= 1);
    assert_eq!(s.hash_queue, s.hash_concurrency * 8);
    assert_eq!(s.refresh_reuse_grace, Duration::from_secs(10));
    let off = settings(&[
        ("EMPORIUM_THROTTLE_ANON", "off"),
        ("EMPORIUM_REFRESH_REUSE_GRACE", "0s"),
        ("EMPORIUM_HASH_QUEUE", "0"),
    ])
    .expect("valid");
    assert_eq!(off.throttle_anon, None);
    assert_eq!(off.refresh_reuse_grace, Duration::ZERO);
    assert_eq!(off.hash_queue, 0);
}

#[test]
fn images_are_resized_by_a_few_workers_with_a_bounded_line() {
    let s = settings(&[]).expect("defaults");
    assert!((1..=2).contains(&s.media.image_workers));
    assert_eq!(s.media.image_queue, s.media.image_workers * 4);
    let set = settings(&[
        ("EMPORIUM_IMAGE_WORKERS", "3"),
        ("EMPORIUM_IMAGE_QUEUE", "0"),
    ])
    .expect("valid");
    assert_eq!((set.media.image_workers, set.media.image_queue), (3, 0));
    let zero = settings(&[("EMPORIUM_IMAGE_WORKERS", "0")]).expect_err("at least one");
    assert_eq!(zero.name, "EMPORIUM_IMAGE_WORKERS");
}

#[test]
fn lists_are_parsed() {
    let s = settings(&[
        (
            "EMPORIUM_CORS_ORIGINS",
            "https://app.example, http://localhost:3000",
        ),
        ("EMPORIUM_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
        ("EMPORIUM_PUBLIC_URL", "https://api.example/"),
    ])
    .expect("valid");
    assert_eq!(
        s.cors_origins,
        ["https://app.example", "http://localhost:3000"]
    );
    assert_eq!(s.trusted_proxies.len(), 2);
    assert_eq!(s.public_url.as_deref(), Some("https://api.example"));
}

#[test]
fn every_wait_on_another_service_is_bounded_and_can_be_set() {
    let s = settings(&[]).expect("defaults are valid");
    assert_eq!(
        s.timeouts,
        Timeouts {
            db_acquire: Duration::from_secs(2),
            redis: Duration::from_millis(500),
            connect: Duration::from_secs(3),
            outgoing: Duration::from_secs(10),
        }
    );
    let s = settings(&[
        ("EMPORIUM_DB_ACQUIRE_TIMEOUT", "1s"),
        ("EMPORIUM_REDIS_TIMEOUT", "200ms"),
        ("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s"),
        ("EMPORIUM_OUTGOING_TIMEOUT", "4s"),
    ])
    .expect("valid");
    assert_eq!(s.timeouts.redis, Duration::from_millis(200));
    assert_eq!(s.timeouts.outgoing, Duration::from_secs(4));
    for (name, value) in [
        ("EMPORIUM_DB_ACQUIRE_TIMEOUT", "2m"),
        ("EMPORIUM_REDIS_TIMEOUT", "0s"),
        ("EMPORIUM_OUTGOING_TIMEOUT", "later"),
    ] {
        assert_eq!(
            settings(&[(name, value)]).map(|_| ()).err().map(|e| e.name),
            Some(name)
        );
    }
    let longer = settings(&[
        ("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "5s"),
        ("EMPORIUM_OUTGOING_TIMEOUT", "2s"),
    ]);
    assert_eq!(
        longer.map(|_| ()).err().map(|e| e.name),
        Some("EMPORIUM_OUTGOING_CONNECT_TIMEOUT")
    );
}

#[test]
fn webhook_allow_hosts_are_a_list_of_hosts_or_host_ports() {
    assert!(settings(&[]).expect("valid").webhook_allow_hosts.is_empty());
    let s = settings(&[(
        "EMPORIUM_WEBHOOK_ALLOW_HOSTS",
        " 127.0.0.1, Hooks.Internal:8080 ,[::1]:9000,",
    )])
    .expect("valid");
    assert_eq!(
        s.webhook_allow_hosts,
        ["127.0.0.1", "hooks.internal:8080", "[::1]:9000"]
    );
    for bad in [
        "http://hooks.internal",
        "hooks.internal:port",
        "user@host",
        ":80",
    ] {
        let error = settings(&[("EMPORIUM_WEBHOOK_ALLOW_HOSTS", bad)]).expect_err(bad);
        assert_eq!(error.name, "EMPORIUM_WEBHOOK_ALLOW_HOSTS", "{bad}");
    }
}

#[test]
fn the_time_zone_is_an_iana_name_and_utc_by_default() {
    assert_eq!(
        settings(&[]).expect("defaults").time_zone,
        chrono_tz::Tz::UTC
    );
    let s = settings(&[("EMPORIUM_TIME_ZONE", "Europe/Berlin")]).expect("valid");
    assert_eq!(s.time_zone, chrono_tz::Europe::Berlin);
    let error = settings(&[("EMPORIUM_TIME_ZONE", "Mars/Olympus")])
        .expect_err("not a zone")
        .to_string();
    assert!(error.contains("EMPORIUM_TIME_ZONE"), "{error}");
}
