// GraphiQL on /graphql: queries over HTTP with the session's CSRF token, subscriptions over the WebSocket.
(function () {
  const meta = document.querySelector("meta[name=csrf-token]");
  const csrf = meta ? meta.content : "";
  const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql";
  const fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    headers: csrf ? { "X-CSRF-Token": csrf } : {},
    wsClient: graphqlWs.createClient({ url: wsUrl, lazy: true }),
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: "# Welcome to Paydeck's GraphQL API.\n{\n  viewer { accountId livemode role permissions }\n" +
        "  account { name defaultCurrency }\n}\n",
      shouldPersistHeaders: false,
    })
  );
})();
