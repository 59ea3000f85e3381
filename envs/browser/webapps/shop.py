"""The shop: product list -> product page -> cart (remove, coupon) -> checkout form -> order confirmation.

State: 12 products (3 in each of 4 categories, seeded names and prices), the cart, an applied coupon, the
customer's saved shipping address (the checkout form starts with it) and the orders placed. Placing an
order is the shop's terminal event: a task whose order is wrong has failed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from html import escape

from envs.browser.webapps.base import App, Response, Task, redirect, template
from envs.browser.webapps.html import error, page, post_button, text_field

CATEGORIES = {
    "Kitchen": ("Coffee Grinder", "Teapot", "Chef Knife", "Cutting Board", "Salad Bowl", "Toaster"),
    "Garden": ("Watering Can", "Pruning Shears", "Garden Gloves", "Seed Tray", "Hose Nozzle", "Plant Pot"),
    "Books": (
        "Atlas of Birds",
        "Pocket Dictionary",
        "Star Guide",
        "Poetry Reader",
        "Travel Journal",
        "Cookbook",
    ),
    "Toys": ("Yo-yo", "Puzzle Cube", "Kite", "Toy Robot", "Marble Run", "Jump Rope"),
}
PER_CATEGORY = 3
COUPONS = {"SAVE10": 10, "SPRING15": 15, "WELCOME5": 5, "VIP20": 20}  # code -> percent off
NAMES = ("Alex Morgan", "Jamie Rivera", "Taylor Brooks", "Jordan Lee", "Casey Quinn", "Robin Hale")
STREETS = ("Elm Street", "Oak Avenue", "Maple Road", "Harbor Lane", "Mill Street", "Cedar Court")
CITIES = ("Springfield", "Riverton", "Lakeside", "Fairview", "Greenville", "Brookfield")
ADDRESS_FIELDS = ("name", "address", "city", "zip")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    price_cents: int


@dataclass(frozen=True)
class Order:
    items: dict[str, int]  # product id -> quantity
    name: str
    address: str
    city: str
    zip: str
    coupon: str
    total_cents: int


def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def random_address(rng: random.Random) -> dict[str, str]:
    return {
        "name": rng.choice(NAMES),
        "address": f"{rng.randint(2, 98)} {rng.choice(STREETS)}",
        "city": rng.choice(CITIES),
        "zip": str(rng.randint(10000, 99999)),
    }


class Shop(App):
    name = "shop"
    title = "Corner Shop"
    routes = [
        ("GET", r"/", "home"),
        ("GET", r"/product/(\w+)", "product"),
        ("GET", r"/cart", "cart_page"),
        ("GET", r"/checkout", "checkout_page"),
        ("GET", r"/order/(\d+)", "order_page"),
        ("POST", r"/cart/add", "add"),
        ("POST", r"/cart/remove", "remove"),
        ("POST", r"/cart/coupon", "apply_coupon"),
        ("POST", r"/checkout", "place_order"),
    ]

    def reset(self, rng: random.Random) -> None:
        prices = rng.sample(range(3, 60), PER_CATEGORY * len(CATEGORIES))
        self.products: dict[str, Product] = {}
        for c, (category, names) in enumerate(CATEGORIES.items()):
            for i, name in enumerate(sorted(rng.sample(names, PER_CATEGORY))):
                pid = f"p{len(self.products) + 1}"
                self.products[pid] = Product(pid, name, category, prices[c * PER_CATEGORY + i] * 100 + 99)
        self.cart: dict[str, int] = {}
        self.coupon = ""
        self.saved = random_address(rng)
        self.orders: list[Order] = []

    # -- helpers ----------------------------------------------------------------------------------------
    def total_cents(self) -> int:
        subtotal = sum(self.products[p].price_cents * q for p, q in self.cart.items())
        return subtotal - subtotal * COUPONS.get(self.coupon, 0) // 100

    def _page(self, title: str, body: str) -> Response:
        count = sum(self.cart.values())
        nav = [("nav-products", "/", "Products"), ("nav-cart", "/cart", f"Cart ({count})")]
        return Response(200, page(self.title, title, nav, body, self.take_flash()))

    # -- pages ------------------------------------------------------------------------------------------
    def home(self, form: dict[str, str]) -> Response:
        rows = "".join(
            f'<tr><td><a class="product" href="/product/{p.id}">{escape(p.name)}</a></td>'
            f"<td>{p.category}</td><td>{money(p.price_cents)}</td></tr>"
            for p in sorted(self.products.values(), key=lambda p: (p.category, p.name))
        )
        body = (
            f"<h2>Products</h2><table><tr><th>Product</th><th>Category</th><th>Price</th></tr>{rows}</table>"
        )
        return self._page("Products", body)

    def product(self, pid: str, form: dict[str, str], problem: str = "") -> Response:
        p = self.products.get(pid)
        if p is None:
            return self._page("Not found", error(f"No product {pid}"))
        body = (
            f"<h2>{escape(p.name)}</h2><p>Category: {p.category}<br>Price: {money(p.price_cents)}</p>"
            f'{error(problem)}<form method="post" action="/cart/add"><input type="hidden" name="id" value="{pid}">'
            f'{text_field("qty", "Quantity", "1")}<button id="add">Add to cart</button></form>'
        )
        return self._page(p.name, body)

    def cart_page(self, form: dict[str, str]) -> Response:
        if not self.cart:
            return self._page("Cart", '<h2>Your cart</h2><p class="muted">Your cart is empty.</p>')
        rows = "".join(
            f"<tr><td>{escape(self.products[p].name)}</td><td>{q}</td>"
            f"<td>{money(self.products[p].price_cents * q)}</td>"
            f"<td>{post_button('/cart/remove', f'remove-{p}', 'Remove', {'id': p})}</td></tr>"
            for p, q in self.cart.items()
        )
        coupon = f"Coupon {self.coupon} applied. " if self.coupon else ""
        body = (
            f"<h2>Your cart</h2><table><tr><th>Product</th><th>Qty</th><th>Price</th><th></th></tr>{rows}"
            f"</table><p>{coupon}Total: <b>{money(self.total_cents())}</b></p>"
            f'<form method="post" action="/cart/coupon">{text_field("coupon", "Coupon code")}'
            f'<button id="apply">Apply coupon</button></form>'
            f'<p><a id="checkout" class="button" href="/checkout">Proceed to checkout</a></p>'
        )
        return self._page("Cart", body)

    def checkout_page(self, form: dict[str, str], problem: str = "") -> Response:
        if not self.cart:
            return self._page("Checkout", '<h2>Checkout</h2><p class="muted">Your cart is empty.</p>')
        items = ", ".join(f"{q} x {escape(self.products[p].name)}" for p, q in self.cart.items())
        values = {k: form.get(k, self.saved[k]) for k in ADDRESS_FIELDS}
        fields = "".join(text_field(k, k.capitalize(), values[k]) for k in ADDRESS_FIELDS)
        body = (
            f"<h2>Checkout</h2><p>{items}<br>Total: <b>{money(self.total_cents())}</b></p>{error(problem)}"
            f'<form method="post" action="/checkout">{fields}<button id="place">Place order</button></form>'
        )
        return self._page("Checkout", body)

    def order_page(self, n: str, form: dict[str, str]) -> Response:
        i = int(n) - 1
        if not 0 <= i < len(self.orders):
            return self._page("Not found", error(f"No order {n}"))
        o = self.orders[i]
        items = ", ".join(f"{q} x {escape(self.products[p].name)}" for p, q in o.items.items())
        body = (
            f"<h2>Order #{n} confirmed</h2><p>{items}<br>Total paid: {money(o.total_cents)}</p>"
            f"<p>Shipping to {escape(o.name)}, {escape(o.address)}, {escape(o.city)} {escape(o.zip)}</p>"
        )
        return self._page(f"Order {n}", body)

    # -- actions ----------------------------------------------------------------------------------------
    def add(self, form: dict[str, str]) -> Response:
        pid, qty = form.get("id", ""), form.get("qty", "").strip()
        if pid not in self.products:
            return self._page("Not found", error(f"No product {pid}"))
        if not qty.isdigit() or not 1 <= int(qty) <= 99:
            return self.product(pid, form, problem="Quantity must be a number from 1 to 99.")
        self.cart[pid] = self.cart.get(pid, 0) + int(qty)
        self.flash = f"Added {qty} x {self.products[pid].name} to your cart."
        return redirect("/cart")

    def remove(self, form: dict[str, str]) -> Response:
        if self.cart.pop(form.get("id", ""), None) is not None:
            self.flash = "Item removed."
        return redirect("/cart")

    def apply_coupon(self, form: dict[str, str]) -> Response:
        code = form.get("coupon", "").strip().upper()
        if code in COUPONS:
            self.coupon, self.flash = code, f"Coupon {code} applied: {COUPONS[code]}% off."
        else:
            self.flash = f"Unknown coupon code '{code}'."
        return redirect("/cart")

    def place_order(self, form: dict[str, str]) -> Response:
        if not self.cart:
            return redirect("/cart")
        values = {k: form.get(k, "").strip() for k in ADDRESS_FIELDS}
        if not all(values.values()):
            return self.checkout_page(form, problem="Please fill in every field.")
        self.orders.append(
            Order(dict(self.cart), **values, coupon=self.coupon, total_cents=self.total_cents())
        )
        self.cart, self.coupon = {}, ""
        self.events.append("order")
        return redirect(f"/order/{len(self.orders)}")


# -- task templates: each goal is an order (items, shipping fields, coupon) ---------------------------------
def order_task(
    app: Shop, instruction: str, items: dict[str, int], ship: dict[str, str], coupon: str = ""
) -> Task:
    def check() -> bool:
        if len(app.orders) != 1:
            return False
        o = app.orders[0]
        return o.items == items and o.coupon == coupon and all(getattr(o, k) == v for k, v in ship.items())

    return Task(
        instruction,
        check=check,
        failed=lambda: bool(app.orders) and not check(),
        params={"items": items, "ship": ship, "coupon": coupon},
    )


def _pick(app: Shop, rng: random.Random, n: int) -> list[Product]:
    return rng.sample(sorted(app.products.values(), key=lambda p: p.id), n)


@template(Shop, "buy-item", max_steps=15)
def buy_item(app: Shop, rng: random.Random) -> Task:
    p, qty = _pick(app, rng, 1)[0], rng.randint(2, 4)
    text = f'Buy {qty} of "{p.name}" and check out with your saved address.'
    return order_task(app, text, {p.id: qty}, dict(app.saved))


@template(Shop, "two-items-address", max_steps=25)
def two_items_address(app: Shop, rng: random.Random) -> Task:
    a, b = _pick(app, rng, 2)
    ship = {**app.saved, **{k: v for k, v in random_address(rng).items() if k in ("address", "city")}}
    if ship["address"] == app.saved["address"]:
        ship["address"] = f"1 {rng.choice(STREETS)}"
    text = f'Buy one "{a.name}" and one "{b.name}", shipped to {ship["address"]}, {ship["city"]}.'
    return order_task(app, text, {a.id: 1, b.id: 1}, ship)


@template(Shop, "apply-coupon", max_steps=15)
def apply_coupon(app: Shop, rng: random.Random) -> Task:
    p, code = _pick(app, rng, 1)[0], rng.choice(sorted(COUPONS))
    text = f'Buy one "{p.name}" using the coupon code {code}.'
    return order_task(app, text, {p.id: 1}, dict(app.saved), coupon=code)


@template(Shop, "remove-then-checkout", max_steps=10)
def remove_then_checkout(app: Shop, rng: random.Random) -> Task:
    chosen = _pick(app, rng, 3)
    app.cart = {p.id: rng.randint(1, 2) for p in chosen}
    drop = rng.choice(chosen)
    text = f'Remove "{drop.name}" from your cart, then check out the rest with your saved address.'
    return order_task(app, text, {p: q for p, q in app.cart.items() if p != drop.id}, dict(app.saved))


@template(Shop, "buy-cheapest", max_steps=10)
def buy_cheapest(app: Shop, rng: random.Random) -> Task:
    category = rng.choice(sorted(CATEGORIES))
    cheapest = min((p for p in app.products.values() if p.category == category), key=lambda p: p.price_cents)
    text = f"Buy one unit of the cheapest item in the {category} category; ship it to your saved address."
    return order_task(app, text, {cheapest.id: 1}, dict(app.saved))
