// What a person would notice on the page as drawn, measured from computed styles and
// layout boxes (evaluated by measure.py through Playwright, so the page's CSP is untouched).
// Returns {figures, problems}: each problem one short line naming the element.
(opts) => {
  const problems = [];
  const figures = {};
  const say = (el, what) => problems.push(`${describe(el)}: ${what}`);

  function describe(el) {
    if (!el || el.nodeType !== 1) return "?";
    let name = el.tagName.toLowerCase();
    if (el.id) name += `#${el.id}`;
    else if (el.classList.length) name += "." + [...el.classList].join(".");
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || "")
      .replace(/\s+/g, " ").trim().slice(0, 30);
    return text ? `${name} "${text}"` : name;
  }

  function visible(el) {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden") return false;
      if (node.classList.contains("visually-hidden")) return false;
    }
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.height > 1;
  }

  // -- no horizontal scrolling -----------------------------------------------------------
  // Against the device's width, not innerWidth: a phone browser widens its layout
  // viewport (and zooms out) to hold a page that is too wide.
  const screenWidth = opts.width;
  const width = Math.max(document.scrollingElement.scrollWidth, innerWidth);
  figures.scroll_width = width;
  if (width > screenWidth) {
    const wide = [...document.body.querySelectorAll("*")]
      .filter((el) => visible(el) && el.getBoundingClientRect().right > screenWidth + 0.5)
      .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= screenWidth + 0.5);
    problems.push(`page is ${width} px wide at ${screenWidth} px; sticking out: `
      + wide.slice(0, 5).map(describe).join(", "));
  }

  // -- text: size, line height, contrast -------------------------------------------------
  function parse(color) {
    const m = color.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 1];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, bottom) {  // top composited over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
  }
  function background(el) {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  }
  function luminance([r, g, b]) {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let smallest = Infinity;
  let lowest = Infinity;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (["SCRIPT", "STYLE", "NOSCRIPT", "OPTION"].includes(el.tagName) || !visible(el)) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    smallest = Math.min(smallest, size);
    if (size < opts.minFont - 0.01) say(el, `text ${size.toFixed(1)} px < ${opts.minFont} px`);
    const line = style.lineHeight === "normal" ? NaN : parseFloat(style.lineHeight);
    if (!(line >= 1.3 * size - 0.01)) say(el, `line height ${style.lineHeight} < 1.3 × ${size} px`);
    const colour = parse(style.color);
    const bg = background(el);
    const ratio = contrast(over(colour, bg), bg);
    lowest = Math.min(lowest, ratio);
    if (ratio < 4.5) say(el, `contrast ${ratio.toFixed(2)}:1 < 4.5:1 (${style.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
  }
  figures.smallest_text = smallest;
  figures.lowest_contrast = Math.round(lowest * 100) / 100;

  // -- headings: h1 never smaller than an h2 ---------------------------------------------
  const h1 = document.querySelector("h1");
  if (h1) {
    const size = parseFloat(getComputedStyle(h1).fontSize);
    figures.h1 = size;
    for (const h2 of document.querySelectorAll("h2")) {
      const other = parseFloat(getComputedStyle(h2).fontSize);
      figures.h2 = Math.max(figures.h2 || 0, other);
      if (other > size) say(h2, `h2 ${other} px is larger than the h1 (${size} px)`);
    }
  } else {
    problems.push("page has no h1");
  }

  // -- the masthead's name is never broken across lines --------------------------------
  const brand = document.querySelector(".brand");
  if (brand && visible(brand)) {
    const range = document.createRange();
    range.selectNodeContents(brand);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (tops.size > 1) say(brand, `the site's name breaks over ${tops.size} lines`);
  }

  // -- tap targets -----------------------------------------------------------------------
  // A link is "inside a sentence" (exempt, WCAG 2.5.8) when its block holds words of its
  // own besides the links: letters or CJK characters, not just separators like "·".
  function block(el) {
    for (let node = el.parentElement; node; node = node.parentElement) {
      if (!getComputedStyle(node).display.startsWith("inline")) return node;
    }
    return document.body;
  }
  function inSentence(link) {
    const holder = block(link);
    const clone = holder.cloneNode(true);
    clone.querySelectorAll("a, button, input, select, textarea").forEach((el) => el.remove());
    return /[\p{L}\p{N}]/u.test(clone.textContent);
  }
  const targets = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, [role=tab], summary");
  let smallestTarget = Infinity;
  for (const el of targets) {
    if (!visible(el)) continue;
    if (el.tagName === "A" && !el.matches("[role=tab], .button") && inSentence(el)) continue;
    let box = el.getBoundingClientRect();
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (el.tagName === "INPUT" && (type === "checkbox" || type === "radio")) {
      const [w, h] = [box.width, box.height];
      const least = opts.minTarget >= 60 ? 36 : 24;
      if (w < least - 0.5 || h < least - 0.5) say(el, `${type} box ${w}×${h} px < ${least}×${least}`);
      const label = el.closest("label") || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label) box = label.getBoundingClientRect();
    }
    const [w, h] = [Math.round(box.width * 10) / 10, Math.round(box.height * 10) / 10];
    smallestTarget = Math.min(smallestTarget, Math.min(w, h));
    if (w < opts.minTarget - 0.5 || h < opts.minTarget - 0.5) {
      say(el, `target ${w}×${h} px < ${opts.minTarget}×${opts.minTarget}`);
    }
  }
  figures.smallest_target = smallestTarget;

  // -- every input has a label; no pop-ups -----------------------------------------------
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (["hidden", "submit", "button", "reset", "image"].includes(type)) continue;
    const labelled = el.closest("label") || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby")
      || (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`));
    if (!labelled) say(el, "input without a label");
  }
  for (const el of document.querySelectorAll("[target]")) {
    if (el.getAttribute("target") !== "_self") say(el, `opens elsewhere (target=${el.getAttribute("target")})`);
  }
  return { figures, problems };
}
