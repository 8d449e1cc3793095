// The API reference: Swagger UI on the gateway's own OpenAPI 3.1 document. "Authorize" takes an
// access token (from POST /v1/auth/login) or an sg_ API key; "Try it out" then calls the API.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#ui",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  validatorUrl: null,
});
