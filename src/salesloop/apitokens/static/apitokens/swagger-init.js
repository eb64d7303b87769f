// Swagger UI for /api/docs, with every asset from this installation (no CDN).
(function () {
  "use strict";
  function start() {
    var config = JSON.parse(document.getElementById("swagger-settings").textContent);
    var csrf = document.body.dataset.csrfToken;
    config.dom_id = "#swagger-ui";
    config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
    config.requestInterceptor = function (req) {
      if (csrf) { req.headers["X-CSRFToken"] = csrf; }
      return req;
    };
    window.ui = SwaggerUIBundle(config);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
