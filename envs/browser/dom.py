"""Reading the page: the element list (one JS evaluate per observation) and the accessibility-tree text.

An element is listed when it is interactive (links, buttons, form fields, ARIA widget roles, tabindex, or an
element a page script attached a click/mouse handler to: `INSTRUMENT_JS` records those) and really
clickable: some point of it is inside the viewport and `document.elementFromPoint` there returns the
element (or a descendant), so an element covered by another is listed with a point on its visible part,
or not at all. Its box is reported centred on that point, so `Element.center` is always a point a click
reaches. Containers that only delegate events to listed descendants are left out.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from envs.core.elements import Element

# Added to every document before its scripts run: remember which elements got mouse handlers (d3, jQuery
# and plain addEventListener all end up here), in a WeakSet that page scripts cannot see by name.
INSTRUMENT_JS = """
(() => {
  if (window.__agentrlHandlers) return;
  const marked = new WeakSet();
  Object.defineProperty(window, '__agentrlHandlers', {value: marked, enumerable: false});
  const types = new Set(['click', 'mousedown', 'mouseup', 'dblclick', 'contextmenu', 'pointerdown',
                         'pointerup', 'touchstart']);
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (types.has(type) && this instanceof Element) marked.add(this);
    return add.call(this, type, ...rest);
  };
})();
"""

# JS helpers (inside a function body): `clickablePoint(el, rect)` is the first point of a 5x5 grid over the
# element's visible rect, centre first, where `document.elementFromPoint` reaches the element (or a
# descendant, or a label for it), as [x, y, left, top, right, bottom]; null when no point does.
POINT_JS = """
  const W = window.innerWidth, H = window.innerHeight;
  const reaches = (el, x, y) => {
    const hit = document.elementFromPoint(x, y);
    if (!hit) return false;
    if (hit === el || el.contains(hit)) return true;
    const lab = hit.closest && hit.closest('label');
    return !!(lab && lab.control === el);
  };
  const FRACTIONS = [0.5, 0.3, 0.7, 0.15, 0.85];
  const clickablePoint = (el, r) => {
    const left = Math.max(r.left, 0), right = Math.min(r.right, W);
    const top = Math.max(r.top, 0), bottom = Math.min(r.bottom, H);
    if (right - left < 1 || bottom - top < 1) return null;
    for (const fy of FRACTIONS) for (const fx of FRACTIONS) {
      const x = Math.floor(left + fx * (right - left)), y = Math.floor(top + fy * (bottom - top));
      if (reaches(el, x, y)) return [x, y, left, top, right, bottom];
    }
    return null;
  };
"""

ELEMENTS_JS = (
    """
(opts) => {
  const root = (opts.root && document.querySelector(opts.root)) || document.body;
  if (!root) return [];
"""
    + POINT_JS
    + """
  const handlers = window.__agentrlHandlers;
  const ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'tab', 'menuitem', 'menuitemcheckbox',
    'menuitemradio', 'option', 'textbox', 'searchbox', 'combobox', 'switch', 'slider', 'spinbutton',
    'treeitem', 'listbox', 'gridcell']);
  const INPUT_ROLE = {checkbox: 'checkbox', radio: 'radio', button: 'button', submit: 'button',
    reset: 'button', image: 'button', range: 'slider', number: 'spinbutton', file: 'button',
    color: 'button'};
  const hasHandler = (el) => (handlers && handlers.has(el)) || !!(el.onclick || el.onmousedown ||
    el.onmouseup || el.ondblclick);
  const intrinsic = (el) => {
    const tag = el.tagName;
    if (tag === 'INPUT') return el.type !== 'hidden';
    if (tag === 'A') return el.hasAttribute('href');
    if (tag === 'BUTTON' || tag === 'SELECT' || tag === 'TEXTAREA' || tag === 'SUMMARY') return true;
    if (ROLES.has(el.getAttribute('role'))) return true;
    if (el.isContentEditable && (!el.parentElement || !el.parentElement.isContentEditable)) return true;
    const ti = el.getAttribute('tabindex');
    return ti !== null && +ti >= 0;
  };
  const role = (el) => {
    const r = el.getAttribute('role');
    if (r) return r;
    const tag = el.tagName;
    if (tag === 'A') return 'link';
    if (tag === 'BUTTON' || tag === 'SUMMARY') return 'button';
    if (tag === 'SELECT') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
    if (tag === 'TEXTAREA' || el.isContentEditable) return 'textbox';
    if (tag === 'INPUT') return INPUT_ROLE[el.type] || 'textbox';
    return 'clickable';
  };
  const squash = (s) => (s || '').replace(/\\s+/g, ' ').trim().slice(0, 200);
  const label = (el) => {
    const aria = el.getAttribute('aria-label');
    if (aria) return squash(aria);
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const t = by.split(/\\s+/).map((id) => document.getElementById(id)).filter(Boolean)
        .map((n) => n.innerText).join(' ');
      if (squash(t)) return squash(t);
    }
    const tag = el.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') {
      if (['button', 'submit', 'reset'].includes(el.type) && el.value) return squash(el.value);
      if (el.labels && el.labels.length) return squash(el.labels[0].innerText);
      return squash(el.placeholder || el.title || el.name || '');
    }
    if (tag === 'IMG') return squash(el.alt || el.title);
    return squash(el.innerText || el.textContent || el.title || el.getAttribute('alt') || '');
  };
  const value = (el) => {
    const tag = el.tagName;
    if (tag === 'INPUT') {
      if (el.type === 'checkbox' || el.type === 'radio') return el.checked ? 'checked' : '';
      if (['button', 'submit', 'reset', 'image', 'file'].includes(el.type)) return '';
      if (el.type === 'password') return '*'.repeat(el.value.length);
      return squash(el.value);
    }
    if (tag === 'TEXTAREA') return squash(el.value);
    if (tag === 'SELECT') return squash(Array.from(el.selectedOptions).map((o) => o.text).join(', '));
    return '';
  };
  const found = [];
  const all = root.querySelectorAll('*');
  for (const el of all) {
    if (!(intrinsic(el) || hasHandler(el))) continue;
    if (el === document.body || el === document.documentElement) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || +style.opacity === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const p = clickablePoint(el, r);
    if (!p) continue;
    found.push({el, p, intrinsic: intrinsic(el)});
  }
  // A handler-only container around listed elements is an event delegate: leave it out.
  const listed = new Set(found.map((f) => f.el));
  const keep = found.filter((f) => f.intrinsic ||
    !Array.from(f.el.querySelectorAll('*')).some((d) => listed.has(d)));
  return keep.slice(0, opts.limit).map((f, i) => {
    const [x, y, left, top, right, bottom] = f.p;
    // The largest box inside the element's visible rect centred on (x, y): x0 + floor(w / 2) == x.
    const hw = Math.max(0, Math.min(x - Math.ceil(left), Math.floor(right) - x));
    const hh = Math.max(0, Math.min(y - Math.ceil(top), Math.floor(bottom) - y));
    return {index: i, role: role(f.el), text: label(f.el), x: x - hw, y: y - hh, w: Math.max(1, 2 * hw),
            h: Math.max(1, 2 * hh), value: value(f.el)};
  });
}
"""
)


ELEMENT_LIMIT = 200  # at most this many elements are listed (a page with more is not a GUI-agent task)


def read_elements(page: Page, root: str | None = None, limit: int = ELEMENT_LIMIT) -> list[Element]:
    """The visible interactive elements under `root` (a CSS selector; the body when None)."""
    rows: list[dict[str, Any]] = page.evaluate(ELEMENTS_JS, {"root": root, "limit": limit})
    return [Element.from_dict(r) for r in rows]


def read_axtree(page: Page, root: str | None = None, timeout_s: float = 5.0) -> str:
    """The accessibility tree of `root` as Playwright's ARIA snapshot (roles, names, states; YAML-like)."""
    return page.locator(root or "body").first.aria_snapshot(timeout=timeout_s * 1000)
