() => {
  const W = document.documentElement.clientWidth;
  const bad = [];
  if (document.documentElement.scrollWidth > W + 1) bad.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${W}`);
  for (const el of document.querySelectorAll('main button, main input, main select, main textarea, main a.btn, main .figure')) {
    if (!el.getClientRects().length || el.closest('.table-wrap, [hidden]')) continue;
    const r = el.getBoundingClientRect();
    if (r.right > W + 1 || r.left < -1) bad.push(`${el.tagName} ${el.id || el.name || el.textContent.trim().slice(0, 30)} at ${Math.round(r.left)}..${Math.round(r.right)}`);
    // a card that cuts its control off (overflow hidden)
    const card = el.closest('.card');
    if (card && getComputedStyle(card).overflow === 'hidden') {
      const c = card.getBoundingClientRect();
      if (r.right > c.right + 1 || r.bottom > c.bottom + 1) bad.push(`${el.tagName} ${el.id} clipped by its card`);
    }
  }
  return bad;
}
