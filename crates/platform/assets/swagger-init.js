// Starts the vendored Swagger UI on Aloft's own OpenAPI document (kept out of the HTML so the
// content security policy can forbid inline script).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
});
