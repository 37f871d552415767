// A staff member's and a shopper's journey through Emporium, with only the TypeScript client
// that @hey-api/openapi-ts generated from the served document (in ./generated, fetch client).
//
//   node journey.js BASE_URL STAFF_EMAIL STAFF_PASSWORD
//
// The same steps as journey.py: staff make a category, a product (image, stock) and a coupon;
// a new shopper registers, logs in, browses, fills the cart, applies the coupon, orders (with an
// Idempotency-Key, retried once), pays with the offline dummy provider, fetches the invoice and
// reviews; staff ship the order. Any unexpected answer stops it with the response.

import { createClient, type Client } from './generated/client';
import {
  add as addToCart,
  adjustStock,
  applyCoupon,
  changeStatus,
  confirm,
  createCategory,
  createCoupon,
  createIntent,
  createOrder,
  createProduct,
  createReview,
  getOrder,
  getProduct,
  invoice,
  listProducts,
  login,
  me,
  register,
  uploadImage,
} from './generated/sdk.gen';
import type { CreateOrder, ProductView } from './generated/types.gen';

/** What every generated call answers (without throwOnError). */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** The body of `answer`, which must have `status`. */
async function expect<T>(call: Promise<Answer<T>>, status: number): Promise<{ body: T; response: Response }> {
  const answer = await call;
  const got = answer.response?.status;
  if (got !== status || answer.data === undefined) {
    throw new Error(`expected ${status}, got ${got}: ${JSON.stringify(answer.error ?? answer.data)}`);
  }
  return { body: answer.data, response: answer.response as Response };
}

function check(condition: boolean, what: string, value?: unknown): void {
  if (!condition) {
    throw new Error(`${what}: ${JSON.stringify(value)}`);
  }
}

/** A 1×1 PNG (its pixels must decode: the server makes its sizes). */
const PNG = Uint8Array.from(
  atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP438AAAAQBAYD718vxAAAAAElFTkSuQmCC'),
  (c) => c.charCodeAt(0),
);

async function logIn(base: string, email: string, password: string): Promise<Client> {
  const { body } = await expect(login({ client: createClient({ baseUrl: base }), body: { email, password } }), 200);
  return createClient({ baseUrl: base, auth: () => body.access });
}

async function staffSetup(staff: Client, tag: string): Promise<{ product: ProductView; code: string }> {
  const category = (await expect(createCategory({ client: staff, body: { name: `Journey ${tag}` } }), 201)).body;
  const product = (
    await expect(
      createProduct({
        client: staff,
        body: { name: `Journey lamp ${tag}`, description: 'A lamp.', price: '40.00', stock: 3, category: category.id },
      }),
      201,
    )
  ).body;
  const image = (
    await expect(
      uploadImage({
        client: staff,
        path: { id: product.id },
        body: { image: new Blob([PNG], { type: 'image/png' }), is_primary: true },
      }),
      201,
    )
  ).body;
  check(image.is_primary && image.image.startsWith('http'), 'the image', image);
  const stocked = (await expect(adjustStock({ client: staff, path: { id: product.id }, body: { delta: 7, reason: 'delivery' } }), 200)).body;
  check(stocked.stock === 10, 'the stock', stocked);
  const stale = await adjustStock({ client: staff, path: { id: product.id }, body: { set: 1, expected: 3 } });
  const conflict = stale.error;
  check(stale.response.status === 409 && conflict !== undefined && 'stock' in conflict && conflict.stock === 10, 'a stale adjustment', conflict);
  const code = `J${tag}`.toUpperCase();
  const coupon = (await expect(createCoupon({ client: staff, body: { code, kind: 'percent', value: '10.00' } }), 201)).body;
  check(coupon.valid_until === null, 'the coupon', coupon);
  return { product, code };
}

async function shop(base: string, shopper: Client, product: ProductView, code: string): Promise<string> {
  const nobody = createClient({ baseUrl: base });
  const anonymous = (await expect(listProducts({ client: nobody, query: { search: 'Journey lamp', ordering: '-price' } }), 200)).body;
  check(anonymous.results.some((p) => p.id === product.id), 'anonymous browsing', anonymous);
  const page = (await expect(listProducts({ client: shopper, query: { search: 'Journey lamp', ordering: '-price' } }), 200)).body;
  check(page.results.some((p) => p.id === product.id) && page.previous === null, 'browsing', page);
  const seen = (await expect(getProduct({ client: shopper, path: { id: product.id } }), 200)).body;
  check(seen.images.length === 1 && seen.average_rating === null, 'the product', seen);
  await expect(addToCart({ client: shopper, body: { product_id: product.id, quantity: 2 } }), 200);
  const cart = (await expect(applyCoupon({ client: shopper, body: { code } }), 200)).body;
  check(cart.subtotal === '80.00' && cart.discount === '8.00' && cart.total === '72.00', 'the cart', cart);
  const order: CreateOrder = {
    shipping_address: {
      full_name: 'Journey Shopper',
      line1: '1 Client Street',
      city: 'Springfield',
      state: 'IL',
      postal_code: '62701',
      country: 'US',
    },
  };
  const key = crypto.randomUUID();
  const placed = (await expect(createOrder({ client: shopper, body: order, headers: { 'Idempotency-Key': key } }), 201)).body;
  check(placed.status === 'PENDING' && placed.total_amount === '72.00', 'the order', placed);
  const again = await expect(createOrder({ client: shopper, body: order, headers: { 'Idempotency-Key': key } }), 201);
  check(again.body.id === placed.id && again.response.headers.get('Idempotent-Replayed') === 'true', 'a retry', again.body);
  const payment = (await expect(createIntent({ client: shopper, body: { order_id: placed.id } }), 201)).body;
  check(payment.provider === 'dummy' && payment.amount === '72.00', 'the payment', payment);
  await expect(confirm({ client: shopper, path: { payment_id: payment.payment_id }, body: { outcome: 'succeeded' } }), 200);
  const paid = (await expect(getOrder({ client: shopper, path: { id: placed.id } }), 200)).body;
  check(paid.status === 'PAID' && paid.payment_status === 'PAID', 'the paid order', paid);
  const pdf = (await expect(invoice({ client: shopper, path: { id: placed.id } }), 200)).body;
  const head = new TextDecoder().decode(new Uint8Array(await pdf.arrayBuffer()).slice(0, 5));
  check(head === '%PDF-', 'the invoice', head);
  const review = (
    await expect(createReview({ client: shopper, path: { id: product.id }, body: { rating: 4, title: 'Good', body: 'Warm light.' } }), 201)
  ).body;
  check(review.rating === 4, 'the review', review);
  return placed.id;
}

async function main(): Promise<void> {
  const [base, staffEmail, staffPassword] = process.argv.slice(2);
  if (!base || !staffEmail || !staffPassword) {
    throw new Error('usage: node journey.js BASE_URL STAFF_EMAIL STAFF_PASSWORD');
  }
  const tag = `ts${Date.now() % 1e9}`;
  const staff = await logIn(base, staffEmail, staffPassword);
  const { product, code } = await staffSetup(staff, tag);

  const email = `shopper-${tag}@example.com`;
  const password = 'Journey-Passw0rd-42';
  await expect(register({ client: createClient({ baseUrl: base }), body: { email, password } }), 201);
  const shopper = await logIn(base, email, password);
  const profile = (await expect(me({ client: shopper }), 200)).body;
  check(profile.email === email && !profile.is_staff, 'the profile', profile);
  const orderId = await shop(base, shopper, product, code);

  const shipped = (await expect(changeStatus({ client: staff, path: { id: orderId }, body: { status: 'SHIPPED' } }), 200)).body;
  check(shipped.status === 'SHIPPED', 'the shipped order', shipped);
  console.log(`typescript journey: ok (order ${orderId} paid, invoiced, reviewed, shipped)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
