// [n] markers link to '#nq-src-n'; scroll the sources panel to the card and flash it rather than
// letting the browser follow the link (Gradio may open chat links in a new tab).
document.addEventListener("click", function (event) {
  const link = event.target.closest && event.target.closest("a.nq-cite");
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
  card.classList.add("nq-flash");
  setTimeout(function () { card.classList.remove("nq-flash"); }, 1500);
}, true);
