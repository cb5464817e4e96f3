// Keyward API reference: language tabs (remembered across pages), the operation search, copy buttons.
// Every page works without it: then all four examples show one after the other.
"use strict";

(function () {
  const STORAGE_KEY = "keyward-docs-language";

  function remembered() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (_) {
      return null;
    }
  }

  function remember(language) {
    try {
      window.localStorage.setItem(STORAGE_KEY, language);
    } catch (_) {
      // Storage may be off (private windows, file:// pages): the choice lasts for this page.
    }
  }

  function select(language, focus) {
    document.querySelectorAll("[data-tabs]").forEach(function (group) {
      const tabs = Array.from(group.querySelectorAll('[role="tab"]'));
      if (!tabs.some(function (tab) { return tab.dataset.lang === language; })) {
        return;
      }
      tabs.forEach(function (tab) {
        const selected = tab.dataset.lang === language;
        tab.setAttribute("aria-selected", selected ? "true" : "false");
        tab.tabIndex = selected ? 0 : -1;
        if (selected && focus) {
          tab.focus();
        }
      });
      group.querySelectorAll('[role="tabpanel"]').forEach(function (panel) {
        panel.hidden = panel.dataset.lang !== language;
      });
    });
  }

  function setUpTabs() {
    const groups = document.querySelectorAll("[data-tabs]");
    groups.forEach(function (group) {
      group.classList.add("js");
      const list = group.querySelector('[role="tablist"]');
      list.hidden = false;
      const tabs = Array.from(list.querySelectorAll('[role="tab"]'));
      tabs.forEach(function (tab, index) {
        tab.addEventListener("click", function () {
          select(tab.dataset.lang, false);
          remember(tab.dataset.lang);
        });
        tab.addEventListener("keydown", function (event) {
          let next = null;
          if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
          if (event.key === "ArrowLeft") next = tabs[(index + tabs.length - 1) % tabs.length];
          if (event.key === "Home") next = tabs[0];
          if (event.key === "End") next = tabs[tabs.length - 1];
          if (next) {
            event.preventDefault();
            select(next.dataset.lang, true);
            remember(next.dataset.lang);
          }
        });
      });
    });
    if (groups.length > 0) {
      const first = groups[0].querySelector('[role="tab"]');
      select(remembered() || first.dataset.lang, false);
    }
  }

  function setUpSearch() {
    const box = document.querySelector("[data-search]");
    if (!box) {
      return;
    }
    box.hidden = false;
    const input = box.querySelector("input");
    const empty = box.querySelector(".search-empty");
    input.addEventListener("input", function () {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      document.querySelectorAll("[data-group]").forEach(function (group) {
        let inGroup = 0;
        group.querySelectorAll("tr[data-search-text]").forEach(function (row) {
          const text = row.dataset.searchText.toLowerCase();
          const match = words.every(function (word) { return text.includes(word); });
          row.hidden = !match;
          if (match) inGroup += 1;
        });
        group.hidden = inGroup === 0;
        shown += inGroup;
      });
      empty.hidden = shown > 0;
    });
  }

  function setUpCopyButtons() {
    if (!navigator.clipboard || !window.isSecureContext) {
      return;
    }
    document.querySelectorAll(".code").forEach(function (block) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        const code = block.querySelector("code").textContent;
        navigator.clipboard.writeText(code).then(
          function () { button.textContent = "Copied"; },
          function () { button.textContent = "Select and copy"; }
        );
        window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
      });
      block.classList.add("has-copy");
      block.appendChild(button);
    });
  }

  setUpTabs();
  setUpSearch();
  setUpCopyButtons();
})();
