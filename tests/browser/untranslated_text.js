() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    if (!text || !/[A-Za-z]{2,}/.test(text)) continue;
    const el = n.parentElement;
    if (!el || el.closest('[translate="no"], code, time, script, style, noscript, title, option[translate="no"], .problem-detail, .swagger-ui')) continue;
    if (el.closest('[hidden]') || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll('input[placeholder], [aria-label]')) {
    if (!el.getClientRects().length || el.closest('[translate="no"]')) continue;
    for (const v of [el.getAttribute('placeholder'), el.getAttribute('aria-label')]) if (v && /[A-Za-z]{2,}/.test(v)) out.push(v);
  }
  return out;
}
