"""A staff member's and a shopper's journey through Emporium, with only the Python client that
openapi-python-client generated from the served document (the package `emporium_client`).

    python journey.py BASE_URL STAFF_EMAIL STAFF_PASSWORD

Staff make a category, a product (with an image and a stock adjustment) and a coupon; a new
shopper registers, logs in, browses, fills the cart, applies the coupon, orders (with an
Idempotency-Key, retried once), pays with the offline dummy provider, fetches the invoice and
reviews the product; staff ship the order. Any unexpected answer stops it with the response.
"""

import struct
import sys
import time
import uuid
import zlib
from http import HTTPStatus
from io import BytesIO

from emporium_client import AuthenticatedClient, Client
from emporium_client.api.accounts import login, me, register
from emporium_client.api.cart import add, apply_coupon
from emporium_client.api.catalog import (
    adjust_stock,
    create_category,
    create_product,
    get_product,
    list_products,
    upload_image,
)
from emporium_client.api.coupons import create_coupon
from emporium_client.api.orders import change_status, create_order, get_order, invoice
from emporium_client.api.payments import confirm, create_intent
from emporium_client.api.reviews import create_review
from emporium_client.models import (
    AddressRequest,
    AddToCart,
    ApplyCoupon,
    CartView,
    CategoryRequest,
    CategoryView,
    Confirm,
    CouponKind,
    CouponRequest,
    CouponView,
    CreateIntent,
    CreateOrder,
    ImageUpload,
    ImageView,
    LoginRequest,
    OrderStatus,
    OrderView,
    Outcome,
    PageProductView,
    PaymentStatus,
    PaymentView,
    ProductOrdering,
    ProductRequest,
    ProductView,
    RegisterRequest,
    ReviewRequest,
    ReviewView,
    StatusChange,
    StockConflict,
    StockRequest,
    TokenPairView,
    UserView,
)
from emporium_client.types import File, Response


def expect(response: Response, status: int, kind: type | None = None):
    """The parsed body of `response`, which must have `status` (and be a `kind`)."""
    if response.status_code != HTTPStatus(status):
        raise SystemExit(
            f"expected {status}, got {response.status_code}: {response.content!r}"
        )
    if kind is not None and not isinstance(response.parsed, kind):
        raise SystemExit(f"expected a {kind.__name__}, got {response.parsed!r}")
    return response.parsed


def png() -> bytes:
    """A 1×1 PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def log_in(base: str, email: str, password: str) -> AuthenticatedClient:
    anonymous = Client(base_url=base)
    pair = expect(
        login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=password)),
        200,
        TokenPairView,
    )
    return AuthenticatedClient(base_url=base, token=pair.access)


def staff_setup(staff: AuthenticatedClient, tag: str) -> tuple[ProductView, str]:
    """Category, product, image, stock and coupon; the product and the coupon's code."""
    category = expect(
        create_category.sync_detailed(
            client=staff, body=CategoryRequest(name=f"Journey {tag}")
        ),
        201,
        CategoryView,
    )
    product = expect(
        create_product.sync_detailed(
            client=staff,
            body=ProductRequest(
                name=f"Journey lamp {tag}",
                description="A lamp for the client journey.",
                price="40.00",
                stock=3,
                category=category.id,
            ),
        ),
        201,
        ProductView,
    )
    image = expect(
        upload_image.sync_detailed(
            product.id,
            client=staff,
            body=ImageUpload(
                image=File(payload=BytesIO(png()), file_name="lamp.png", mime_type="image/png"),
                is_primary=True,
            ),
        ),
        201,
        ImageView,
    )
    assert image.is_primary and image.image.startswith("http"), image
    stocked = expect(
        adjust_stock.sync_detailed(
            product.id, client=staff, body=StockRequest(delta=7, reason="delivery")
        ),
        200,
        ProductView,
    )
    assert stocked.stock == 10, stocked
    stale = expect(
        adjust_stock.sync_detailed(
            product.id, client=staff, body=StockRequest(set_=1, expected=3)
        ),
        409,
        StockConflict,
    )
    assert stale.stock == 10, stale
    code = f"J{tag}".upper()
    coupon = expect(
        create_coupon.sync_detailed(
            client=staff, body=CouponRequest(code=code, kind=CouponKind.PERCENT, value="10.00")
        ),
        201,
        CouponView,
    )
    assert coupon.valid_until is None
    return product, code


def shop(base: str, shopper: AuthenticatedClient, product: ProductView, code: str) -> OrderView:
    """Browse, fill the cart, order, pay; the paid order."""
    page = expect(
        list_products.sync_detailed(
            client=shopper, search="Journey lamp", ordering=ProductOrdering.PRICE_DESC
        ),
        200,
        PageProductView,
    )
    assert any(p.id == product.id for p in page.results), page
    assert page.previous is None
    seen = expect(get_product.sync_detailed(product.id, client=shopper), 200, ProductView)
    assert seen.images and seen.average_rating is None, seen
    expect(add.sync_detailed(client=shopper, body=AddToCart(product_id=product.id, quantity=2)), 200, CartView)
    cart = expect(apply_coupon.sync_detailed(client=shopper, body=ApplyCoupon(code=code)), 200, CartView)
    assert (cart.subtotal, cart.discount, cart.total) == ("80.00", "8.00", "72.00"), cart
    order_body = CreateOrder(
        shipping_address=AddressRequest.from_dict(
            {
                "full_name": "Journey Shopper",
                "line1": "1 Client Street",
                "city": "Springfield",
                "state": "IL",
                "postal_code": "62701",
                "country": "US",
            }
        )
    )
    key = str(uuid.uuid4())
    placed = create_order.sync_detailed(client=shopper, body=order_body, idempotency_key=key)
    order = expect(placed, 201, OrderView)
    assert order.status == OrderStatus.PENDING and order.total_amount == "72.00", order
    again = create_order.sync_detailed(client=shopper, body=order_body, idempotency_key=key)
    assert expect(again, 201, OrderView).id == order.id
    assert again.headers.get("Idempotent-Replayed") == "true", again.headers
    payment = expect(
        create_intent.sync_detailed(client=shopper, body=CreateIntent(order_id=uuid.UUID(order.id))),
        201,
        PaymentView,
    )
    assert payment.amount == "72.00", payment
    expect(
        confirm.sync_detailed(payment.payment_id, client=shopper, body=Confirm(outcome=Outcome.SUCCEEDED)),
        200,
        PaymentView,
    )
    paid = expect(get_order.sync_detailed(order.id, client=shopper), 200, OrderView)
    assert paid.status == OrderStatus.PAID and paid.payment_status == PaymentStatus.PAID, paid
    pdf = expect(invoice.sync_detailed(order.id, client=shopper), 200, File)
    assert pdf.payload.read(5) == b"%PDF-", "the invoice is not a PDF"
    review = expect(
        create_review.sync_detailed(
            product.id, client=shopper, body=ReviewRequest(rating=5, title="Bright", body="Lights up the room.")
        ),
        201,
        ReviewView,
    )
    assert review.rating == 5
    return paid


def main() -> None:
    base, staff_email, staff_password = sys.argv[1:4]
    tag = f"py{int(time.time() * 1000) % 10**9}"
    staff = log_in(base, staff_email, staff_password)
    product, code = staff_setup(staff, tag)

    email, password = f"shopper-{tag}@example.com", "Journey-Passw0rd-42"
    anonymous = Client(base_url=base)
    expect(register.sync_detailed(client=anonymous, body=RegisterRequest(email=email, password=password)), 201, UserView)
    shopper = log_in(base, email, password)
    assert expect(me.sync_detailed(client=shopper), 200, UserView).email == email
    paid = shop(base, shopper, product, code)

    shipped = expect(
        change_status.sync_detailed(paid.id, client=staff, body=StatusChange(status=OrderStatus.SHIPPED)),
        200,
        OrderView,
    )
    assert shipped.status == OrderStatus.SHIPPED, shipped
    print(f"python journey: ok (order {paid.id} paid, invoiced, reviewed, shipped)")


if __name__ == "__main__":
    main()
