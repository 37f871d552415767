// The dashboard walked in a real browser: Debian's Chromium driven by playwright-core, every
// page checked by axe-core and photographed. Run by .ci/browser against a fresh server:
//   BASE=http://127.0.0.1:PORT STAFF_EMAIL=… STAFF_PASSWORD=… OUT=dir node walk.mjs
// Fails (exit 1) on the first step that does not hold.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const BASE = process.env.BASE;
const STAFF = { email: process.env.STAFF_EMAIL, password: process.env.STAFF_PASSWORD };
const OUT = process.env.OUT || 'artefacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
mkdirSync(OUT, { recursive: true });

let step = 0;
function check(condition, what) {
  if (!condition) throw new Error(`step ${step}: ${what}`);
}
async function title(name) {
  step += 1;
  console.log(`${step}. ${name}`);
}

// The API, as the app and the seed data use it.
async function api(method, path, body, token) {
  const response = await fetch(BASE + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
async function token(email, password) {
  const { status, body } = await api('POST', '/api/auth/login/', { email, password });
  check(status === 200, `API login of ${email}: ${status}`);
  return body.access;
}

// A real image to upload: a 64×64 PNG in two colours.
function png() {
  const size = 64;
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const at = y * (size * 3 + 1) + 1 + x * 3;
      const red = x < size / 2;
      raw[at] = red ? 200 : 20; raw[at + 1] = 40; raw[at + 2] = red ? 40 : 200;
    }
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4); length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0); header.writeUInt32BE(size, 4);
  header[8] = 8; header[9] = 2; header[10] = 0; header[11] = 0; header[12] = 0;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// axe-core on the page as it is: no critical or serious violation.
async function accessible(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter(v => v.impact === 'critical' || v.impact === 'serious');
  for (const v of bad) {
    console.log(`  axe ${v.impact}: ${v.id} — ${v.help} (${v.nodes.map(n => n.target.join(' ')).join('; ')})`);
  }
  check(bad.length === 0, `${name}: ${bad.length} critical or serious accessibility violations`);
}

async function shot(page, name) {
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
}

async function visit(page, path, name) {
  const response = await page.goto(BASE + path);
  check(response.status() === 200, `${path}: ${response.status()}`);
  await accessible(page, name);
  await shot(page, name);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const failures = [];
  // Script errors and CSP refusals; a page answered with an error status is the walk's own
  // business (the refusals it asks for), so "Failed to load resource" is not one.
  page.on('console', m => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) failures.push(m.text());
  });
  page.on('pageerror', e => failures.push(e.message));
  page.on('dialog', dialog => dialog.accept());

  await title('the staff and a customer exist; the shop has a category');
  const staffToken = await token(STAFF.email, STAFF.password);
  const category = await api('POST', '/api/categories/', { name: 'Apparel' }, staffToken);
  check(category.status === 201, `category: ${category.status}`);
  const customerEmail = `walk-${Date.now()}@example.com`;
  const customerPassword = 'a walk in the park 42';
  check((await api('POST', '/api/auth/register/', { email: customerEmail, password: customerPassword })).status === 201, 'register');

  await title('an anonymous visitor is sent to sign in; a customer cannot sign in');
  await page.goto(BASE + '/admin/');
  check(page.url().startsWith(BASE + '/admin/login/'), `redirected to sign-in: ${page.url()}`);
  await accessible(page, 'sign-in');
  await shot(page, 'sign-in');
  await page.fill('#email', customerEmail);
  await page.fill('#password', customerPassword);
  await page.click('button[type=submit]');
  check((await page.textContent('[role=alert]')).includes('not a staff account'), 'a customer is refused');

  await title('staff sign in with the keyboard alone');
  await page.goto(BASE + '/admin/login/');
  await page.focus('#email');
  await page.keyboard.type(STAFF.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(STAFF.password);
  await page.keyboard.press('Enter');
  await page.waitForURL(BASE + '/admin/');
  const cookies = await context.cookies();
  const session = cookies.find(c => c.name === 'emporium_admin');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  await visit(page, '/admin/', 'overview');

  await title('a product with two options is created, then its six variants at once');
  await visit(page, '/admin/products/new/', 'product-new');
  await page.fill('#name', 'Walk T-shirt');
  await page.fill('#description', 'Soft <cotton> & friends');
  await page.selectOption('#category', String(category.body.id));
  await page.fill('#option1_name', 'Size');
  await page.fill('#option1_values', 'S, M, L');
  await page.fill('#option2_name', 'Colour');
  await page.fill('#option2_values', 'Red, Blue');
  await page.click('form[action="/admin/products/new/"] button[type=submit]');
  await page.waitForURL(/\/admin\/products\/\d+\/\?done=created/);
  const productId = Number(page.url().match(/products\/(\d+)\//)[1]);
  await page.fill('#combo-prefix', 'WALK');
  await page.fill('#combo-price', '19.99');
  await page.fill('#combo-stock', '10');
  await page.click('form[action$="/combinations/"] button[type=submit]');
  await page.waitForURL(/done=variants/);
  const rows = await page.locator('tbody tr[id^=variant-]').count();
  check(rows === 6, `six variants: ${rows}`);
  await accessible(page, 'product');

  await title('an image is previewed, uploaded and shown');
  await page.setInputFiles('#image', { name: 'shirt.png', mimeType: 'image/png', buffer: png() });
  check(await page.isVisible('#image-preview'), 'the preview shows the chosen image');
  await page.check('#is_primary');
  await page.click('form[enctype="multipart/form-data"] button[type=submit]');
  await page.waitForURL(/done=image/);
  const shown = await page.locator('img[alt*="primary image"]').evaluate(img => img.complete && img.naturalWidth > 0);
  check(shown, 'the uploaded image loads');
  await shot(page, 'product');

  await title('stock is adjusted with a reason, after a confirmation, and the movement is listed');
  const variant = await page.locator('tbody tr[id^=variant-]').first().getAttribute('id');
  const variantId = variant.replace('variant-', '');
  await page.fill(`#delta-${variantId}`, '-3');
  await page.fill(`#reason-${variantId}`, 'damaged in the walk');
  await page.click(`#${variant} form[action$="/stock/"] button[type=submit]`);
  await page.waitForURL(/done=stock/);
  check((await page.textContent(`#${variant} td.num`)).trim() === '7', 'stock 10 − 3 = 7');
  await visit(page, `/admin/variants/${variantId}/movements/`, 'movements');
  check((await page.content()).includes('damaged in the walk'), 'the movement and its reason');

  await title('a customer orders and pays; staff ship the order with a tracking number');
  const customerToken = await token(customerEmail, customerPassword);
  const added = await api('POST', '/api/cart/add/', { product_id: productId, variant_id: Number(variantId), quantity: 2 }, customerToken);
  check(added.status === 200, `add to cart: ${added.status} ${JSON.stringify(added.body)}`);
  const address = { full_name: 'Ada <b>Lovelace</b>', line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US' };
  const order = await api('POST', '/api/orders/create/', { shipping_address: address }, customerToken);
  check(order.status === 201, `order: ${order.status} ${JSON.stringify(order.body)}`);
  const intent = await api('POST', '/api/payments/create-intent/', { order_id: order.body.id }, customerToken);
  check(intent.status === 201 || intent.status === 200, `intent: ${intent.status}`);
  await api('POST', `/api/payments/${intent.body.payment_id}/confirm/`, { outcome: 'succeeded' }, customerToken);
  await visit(page, '/admin/orders/?status=PAID', 'orders');
  await page.click(`a[href="/admin/orders/${order.body.id}/"]`);
  await page.waitForURL(`${BASE}/admin/orders/${order.body.id}/`);
  check((await page.content()).includes('Ada &lt;b&gt;Lovelace&lt;/b&gt;') || (await page.content()).includes('Ada &#60;b&#62;'), 'the customer\'s name is text, not markup');
  check(await page.locator('dd b').count() === 0, 'no markup from the customer');
  await accessible(page, 'order');
  await page.fill('#carrier', 'DHL');
  await page.fill('#tracking_number', 'JD0146000042');
  await page.click('form[action$="/ship/"] button[type=submit]');
  await page.waitForURL(/done=shipped/);
  check((await page.textContent('main')).includes('JD0146000042'), 'the tracking number is on the order');
  await shot(page, 'order');
  const seen = await api('GET', `/api/orders/${order.body.id}/`, null, customerToken);
  check(seen.body.status === 'SHIPPED' && seen.body.tracking_number === 'JD0146000042', 'the customer sees it shipped');

  await title('a state-changing request without the form\'s token is refused and changes nothing');
  const forged = await page.evaluate(async (id) => {
    const response = await fetch(`/admin/orders/${id}/deliver/`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '',
    });
    return response.status;
  }, order.body.id);
  check(forged === 403, `no token: ${forged}`);
  check((await api('GET', `/api/orders/${order.body.id}/`, null, customerToken)).body.status === 'SHIPPED', 'still shipped');

  await title('customers, reviews, webhooks and jobs: every list and page');
  await visit(page, `/admin/customers/?q=${encodeURIComponent(customerEmail)}`, 'customers');
  await page.click(`a:text("${customerEmail}")`);
  await page.waitForURL(/\/admin\/customers\/\d+\/$/);
  await accessible(page, 'customer');
  await shot(page, 'customer');
  check((await page.textContent('main')).includes(order.body.id.slice(0, 8)), 'the customer\'s order is listed');
  await page.click('form[action$="/deactivate/"] button[type=submit]');
  await page.waitForURL(/done=deactivated/);
  check((await api('GET', '/api/orders/', null, customerToken)).status === 401, 'a deactivated customer\'s token stops working');
  await page.click('form[action$="/reactivate/"] button[type=submit]');
  await page.waitForURL(/done=reactivated/);
  await visit(page, '/admin/reviews/', 'reviews');
  await visit(page, '/admin/webhooks/', 'webhooks');
  // A public address by number: no DNS is needed (CI has no internet), and it passes the
  // rule against private addresses.
  await page.fill('#url', 'https://93.184.215.14/emporium');
  await page.fill('#events', 'order.paid, order.shipped');
  await Promise.all([
    page.waitForNavigation(),
    page.click('form[action="/admin/webhooks/"] button[type=submit]'),
  ]);
  const created = await page.textContent('main');
  check(created.includes('shown this once'), `the endpoint's secret is shown once: ${created.slice(0, 400)}`);
  await accessible(page, 'webhook');
  await shot(page, 'webhook');
  await visit(page, '/admin/jobs/', 'jobs');

  await title('categories, coupons, shipping and tax: created through their forms');
  await visit(page, '/admin/categories/', 'categories');
  await page.fill('#name', 'T-shirts');
  await page.selectOption('#parent', String(category.body.id));
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/categories/"] button[type=submit]')]);
  check(page.url().includes('done=created'), `category created: ${page.url()}`);
  await visit(page, '/admin/coupons/', 'coupons');
  await page.fill('#code', 'WALK10');
  await page.selectOption('#kind', 'percent');
  await page.fill('#value', 'ten');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/coupons/"] button[type=submit]')]);
  check(await page.locator('#value ~ .errorlist, .errorlist').count() > 0, 'a bad value is refused beside its field');
  await accessible(page, 'coupon-error');
  await page.fill('#value', '10');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/coupons/"] button[type=submit]')]);
  check(page.url().includes('done=created'), `coupon created: ${page.url()}`);
  await visit(page, '/admin/shipping/zones/', 'zones');
  await page.fill('#name', 'Domestic');
  await page.fill('#countries', 'US');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/shipping/zones/"] button[type=submit]')]);
  check(page.url().includes('done=created'), `zone created: ${page.url()}`);
  await visit(page, '/admin/shipping/methods/', 'methods');
  await page.fill('#name', 'Ground');
  await page.selectOption('#kind', 'flat');
  await page.fill('#price', '4.90');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/shipping/methods/"] button[type=submit]')]);
  check(page.url().includes('done=created'), `method created: ${page.url()}`);
  await visit(page, '/admin/tax/rates/', 'tax');
  await page.fill('#name', 'Sales tax');
  await page.fill('#country', 'US');
  await page.fill('#rate', '8.25');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/tax/rates/"] button[type=submit]')]);
  check(page.url().includes('done=created'), `rate created: ${page.url()}`);
  const quote = await api('GET', '/api/cart/', null, customerToken);
  check(quote.status === 200, 'the customer\'s cart reads');

  await title('readable at 360 px wide');
  await page.setViewportSize({ width: 360, height: 800 });
  for (const [path, name] of [['/admin/', 'overview-360'], [`/admin/products/${productId}/`, 'product-360'], ['/admin/orders/', 'orders-360']]) {
    await visit(page, path, name);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 360, `${path} fits 360 px (${wide})`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  await title('sign-out ends the session');
  await page.goto(BASE + '/admin/');
  await page.click('.signout button[type=submit]');
  await page.waitForURL(BASE + '/admin/login/');
  await page.goto(BASE + '/admin/orders/');
  check(page.url().startsWith(BASE + '/admin/login/'), 'signed out: back to sign-in');

  check(failures.length === 0, `no script errors: ${failures.join('; ')}`);
  console.log(`the walk held: ${step} steps, screenshots in ${OUT}`);
} catch (error) {
  console.error(String(error.stack || error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
