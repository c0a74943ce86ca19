// The issue-16 scenario with the official `stripe` npm package, pinned in package.json.
// Run by tests/compat/test_node_sdk.py:  node scenario.mjs <paydeck base url> <secret key> <payment intents listed>
// Prints one JSON line of results; throws (exit code 1) on the first broken expectation.
import assert from 'node:assert/strict';
import http from 'node:http';
import Stripe from 'stripe';

const [base, key, expectedCount] = process.argv.slice(2);
const url = new URL(base);

// stripe-node has no base-path option: its requests go to /v1/…, so a small http client puts /stripe first.
class PaydeckHttpClient extends Stripe.HttpClient {
  constructor() { super(); this.inner = Stripe.createNodeHttpClient(); }
  getClientName() { return 'paydeck'; }
  makeRequest(host, port, path, ...rest) { return this.inner.makeRequest(host, port, `/stripe${path}`, ...rest); }
}
const stripe = new Stripe(key, {
  host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', ''),
  httpClient: new PaydeckHttpClient(), maxNetworkRetries: 0,
});

// Customers CRUD.
const customer = await stripe.customers.create({ email: 'node@example.com', metadata: { order: '1' } });
assert.equal((await stripe.customers.retrieve(customer.id)).email, 'node@example.com');
assert.equal((await stripe.customers.update(customer.id, { name: 'Node Buyer' })).name, 'Node Buyer');
assert.equal((await stripe.customers.list({ email: 'node@example.com' })).data[0].id, customer.id);

// A card payment: confirmed with pm_card_visa, captured manually, partly refunded.
let pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: customer.id,
  capture_method: 'manual' }, { idempotencyKey: 'node-order-1' });
const retried = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: customer.id,
  capture_method: 'manual' }, { idempotencyKey: 'node-order-1' });
assert.equal(retried.id, pi.id);
pi = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
assert.equal(pi.status, 'requires_capture');
pi = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1500, expand: ['latest_charge'] });
assert.equal(pi.status, 'succeeded');
assert.equal(pi.latest_charge.payment_method_details.card.last4, '4242');
const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
assert.equal(refund.status, 'succeeded');

// A decline is a StripeCardError with its decline code.
const declined = await stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
await assert.rejects(stripe.paymentIntents.confirm(declined.id, { payment_method: 'pm_card_chargeDeclined' }),
  (err) => err.type === 'StripeCardError' && err.decline_code === 'generic_decline' && err.statusCode === 402);

// Auto-pagination over every payment intent.
const listed = await stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 10000 });
assert.equal(listed.length, Number(expectedCount));
assert.equal(new Set(listed.map((p) => p.id)).size, listed.length);

// Events.
const events = await stripe.events.list({ type: 'customer.created' });
assert.equal(events.data[0].data.object.id, customer.id);

// Disputes: Stripe's dispute token is disputed by the processor; the dispute arrives through its feed.
async function disputeOf(amount) {
  const paid = await stripe.paymentIntents.create({ amount, currency: 'usd', confirm: true,
    payment_method: 'pm_card_createDispute' });
  for (let waited = 0; waited < 30000; waited += 100) {
    const found = await stripe.disputes.list({ payment_intent: paid.id });
    if (found.data.length) return found.data[0];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the dispute of ${paid.id} never arrived`);
}
const answered = await disputeOf(3000);
const fetched = await stripe.disputes.retrieve(answered.id);
assert.equal(fetched.status, 'needs_response');
assert.equal(fetched.reason, 'fraudulent');
const staged = await stripe.disputes.update(answered.id, { evidence: { customer_name: 'Node Buyer' },
  metadata: { ticket: '9' }, submit: false });
assert.equal(staged.evidence.customer_name, 'Node Buyer');
assert.equal(staged.evidence_details.has_evidence, true);
const sent = await stripe.disputes.update(answered.id, { evidence: { product_description: 'A mug' } });
assert.equal(sent.status, 'under_review');
assert.equal(sent.evidence_details.submission_count, 1);
const accepted = await disputeOf(2000);
const closed = await stripe.disputes.close(accepted.id);
assert.equal(closed.status, 'lost');
assert.equal(closed.is_charge_refundable, false);
await assert.rejects(stripe.disputes.close(accepted.id),
  (err) => err.type === 'StripeInvalidRequestError' && err.code === 'dispute_unexpected_state');

// A webhook endpoint whose deliveries constructEvent verifies, received by this process.
const verified = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      const event = stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers['stripe-signature'], secret);
      verified.push(event.type);
      res.writeHead(200).end();
    } catch (err) {
      verified.push(`error: ${err.message}`);
      res.writeHead(400).end();
    }
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const endpoint = await stripe.webhookEndpoints.create({
  url: `http://127.0.0.1:${receiver.address().port}/hooks`, enabled_events: ['payment_intent.succeeded'] });
const secret = endpoint.secret;
await stripe.paymentIntents.create({ amount: 800, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
for (let waited = 0; verified.length === 0 && waited < 30000; waited += 100) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
receiver.close();
assert.deepEqual(verified, ['payment_intent.succeeded']);

console.log(JSON.stringify({ ok: true, customer: customer.id, payment_intent: pi.id, refund: refund.id,
  listed: listed.length, verified, disputes: [sent.status, closed.status] }));
