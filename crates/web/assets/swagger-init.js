// Starts the vendored Swagger UI on Aloft's own OpenAPI document (kept out of the HTML so the
// content security policy can forbid inline script).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: false,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
});

// Swagger UI renders scrollable code samples that a keyboard cannot reach; make each focusable
// (WCAG 2.1.1) as it appears.
new MutationObserver(function () {
  document.querySelectorAll(".swagger-ui pre:not([tabindex]), .swagger-ui .body-param__example:not([tabindex])")
    .forEach(function (el) {
      el.setAttribute("tabindex", "0");
    });
}).observe(document.body, { childList: true, subtree: true });
