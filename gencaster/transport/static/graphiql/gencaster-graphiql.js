// Starts GraphiQL for Gencaster. Written for this project (not vendored); kept as a file
// rather than an inline <script> so the page's CSP can forbid inline scripts.
// The endpoint comes from the mount element's data-endpoint attribute.
(function () {
  "use strict";

  var mount = document.getElementById("graphiql");
  var endpoint = mount.getAttribute("data-endpoint") || "/graphql";

  // Subscriptions use graphql-ws (bundled in graphiql.min.js) over the same path,
  // with the graphql-transport-ws subprotocol.
  var wsScheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  var subscriptionUrl = wsScheme + "//" + window.location.host + endpoint;

  // Send and keep the session cookie, so a login via the authLogin mutation sticks.
  function sameOriginFetch(input, init) {
    return window.fetch(input, Object.assign({}, init, { credentials: "same-origin" }));
  }

  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: subscriptionUrl,
    fetch: sameOriginFetch,
    enableIncrementalDelivery: false,
  });

  ReactDOM.createRoot(mount).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    }),
  );
})();
