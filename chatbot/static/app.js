// Source markers, previews and the phone layout, on top of what Gradio renders.
(function () {
  const PHONE = window.matchMedia("(max-width: 700px)");
  let preview = null;

  function passageOf(link) {
    return document.getElementById(link.getAttribute("href").slice(1));
  }

  // Title, outlet, date and supporting sentence of the passage a [n] marker cites; built as text, never HTML.
  function showPreview(link) {
    const passage = passageOf(link);
    if (!passage) return;
    const card = passage.closest(".nq-source");
    hidePreview();
    preview = document.createElement("div");
    preview.className = "nq-preview";
    const parts = [
      ["nq-preview-title", card.querySelector(".nq-title").textContent],
      ["nq-preview-meta", card.querySelector(".nq-meta").textContent],
      ["nq-preview-sentence", (passage.querySelector("mark") || passage.querySelector("blockquote")).textContent.slice(0, 400)],
    ];
    for (const [cls, text] of parts) {
      const div = document.createElement("div");
      div.className = cls;
      div.textContent = text;
      preview.appendChild(div);
    }
    document.body.appendChild(preview);
    const at = link.getBoundingClientRect();
    const box = preview.getBoundingClientRect();
    const left = Math.max(8, Math.min(at.left, window.innerWidth - box.width - 8));
    const top = at.bottom + 6 + box.height < window.innerHeight ? at.bottom + 6 : Math.max(8, at.top - box.height - 6);
    preview.style.left = left + "px";
    preview.style.top = top + "px";
  }

  function hidePreview() {
    if (preview) preview.remove();
    preview = null;
  }

  // A tap also sends mouse events, and the scroll to the cited passage then moves the page under the finger, which
  // reads as the mouse leaving the marker: a touch's preview lives by the click and its timer instead.
  let touch = false;
  document.addEventListener("pointerdown", function (event) { touch = event.pointerType === "touch"; }, true);
  document.addEventListener("pointermove", function (event) { if (event.pointerType === "mouse") touch = false; }, true);

  document.addEventListener("mouseover", function (event) {
    if (touch) return;
    const link = event.target.closest && event.target.closest("a.nq-cite");
    if (link) showPreview(link);
  });
  document.addEventListener("mouseout", function (event) {
    if (touch) return;
    const link = event.target.closest && event.target.closest("a.nq-cite");
    if (link && !link.contains(event.relatedTarget)) hidePreview();
  });

  // [n] links to '#nq-src-n': open the sources, scroll to that passage and flash it, rather than letting the
  // browser follow the link (Gradio may open chat links in a new tab). A tap also shows the preview for a while.
  document.addEventListener("click", function (event) {
    const more = event.target.closest && event.target.closest(".nq-more");
    if (more) {
      const passage = more.closest(".nq-passage");
      passage.classList.toggle("nq-open");
      more.textContent = passage.classList.contains("nq-open") ? "Show less" : "Show the whole passage";
      return;
    }
    const link = event.target.closest && event.target.closest("a.nq-cite");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const passage = passageOf(link);
    if (!passage) return;
    showPreview(link);
    setTimeout(hidePreview, 4000);
    const panel = passage.closest("details");
    if (panel) panel.open = true;
    const card = passage.closest(".nq-source");
    passage.scrollIntoView({behavior: "smooth", block: "nearest"});
    for (const el of [card, passage]) {
      el.classList.add("nq-flash");
      setTimeout(function () { el.classList.remove("nq-flash"); }, 1500);
    }
  }, true);

  // On a phone the sources sit right under the answer, folded: a new answer's panel starts closed.
  new MutationObserver(function () {
    if (!PHONE.matches) return;
    for (const panel of document.querySelectorAll("#nq-sources details.nq-panel:not([data-seen])")) {
      panel.dataset.seen = "1";
      panel.open = false;
    }
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
