// The cases page's reports waiting: ticking a report sets the raise form's category to the
// report's (the page presets the newest report's). The form works without it.
export function setUpRaise(form) {
  const category = form.querySelector("select[name=category]");
  form.querySelectorAll("input[data-category]").forEach((box) => {
    box.addEventListener("change", () => {
      const known = [...category.options].some((o) => o.value === box.dataset.category);
      if (box.checked && known) category.value = box.dataset.category;
    });
  });
}
