"""Shop experts: every shop template's goal is one order (items, shipping fields, coupon), so one driver
serves them all. It fixes the cart first (removes what the order must not hold, adds what it lacks), then
the coupon, then fills the checkout form and places the order."""

from __future__ import annotations

from typing import Any

from envs.browser.webapps.experts import expert
from envs.browser.webapps.experts.toolkit import fill, fill_all, path, press
from envs.browser.webapps.shop import ADDRESS_FIELDS


def _go_to_cart(page: Any, then_css: str, thought: str) -> str:
    if path(page) != "/cart":
        return press(page, "#nav-cart", "I open the cart.")
    return press(page, then_css, thought)


def _add(page: Any, app: Any, pid: str, qty: int) -> str:
    name = app.products[pid].name
    where = path(page)
    if where != f"/product/{pid}":
        if where == "/":
            return press(page, f'a.product[href="/product/{pid}"]', f'I open the page of "{name}".')
        return press(page, "#nav-products", "I go back to the product list.")
    return fill(page, "#qty", str(qty), "quantity") or press(
        page, "#add", f"I add {qty} x {name} to the cart."
    )


@expert("shop", "buy-item", "two-items-address", "apply-coupon", "remove-then-checkout", "buy-cheapest")
def order(page: Any, app: Any, task: Any) -> str:
    items: dict[str, int] = task.params["items"]
    ship: dict[str, str] = task.params["ship"]
    coupon: str = task.params["coupon"]
    extra = next((p for p, q in app.cart.items() if q > items.get(p, 0)), None)
    if extra is not None:
        return _go_to_cart(
            page, f"#remove-{extra}", f'"{app.products[extra].name}" must not be ordered; I remove it.'
        )
    missing = next((p for p, q in items.items() if app.cart.get(p, 0) < q), None)
    if missing is not None:
        return _add(page, app, missing, items[missing] - app.cart.get(missing, 0))
    if coupon and app.coupon != coupon:
        if path(page) != "/cart":
            return press(page, "#nav-cart", "I open the cart to enter the coupon.")
        return fill(page, "#coupon", coupon, "coupon code") or press(page, "#apply", "I apply the coupon.")
    if path(page) != "/checkout":
        return _go_to_cart(page, "#checkout", "The cart is right; I proceed to checkout.")
    fields = [(f"#{k}", ship.get(k, app.saved[k]), k) for k in ADDRESS_FIELDS]
    return fill_all(page, fields) or press(
        page, "#place", "The shipping details are right; I place the order."
    )
