// GraphiQL for hq-api, from files hq-api serves itself: the page loads nothing from elsewhere.
(function () {
  'use strict';
  // The API is the address of this page (`GET /graphql` serves it, `POST /graphql` answers).
  var endpoint = window.location.origin + window.location.pathname;
  var base = GraphiQL.createFetcher({ url: endpoint });

  // The header editor starts with `Authorization: Bearer ` and no token. Sent as is, it would
  // make every call UNAUTHENTICATED (the schema's introspection too), so an Authorization header
  // without a token is left out until one is pasted after `Bearer `.
  function fetcher(params, options) {
    var headers = Object.assign({}, options && options.headers);
    Object.keys(headers).forEach(function (name) {
      if (name.toLowerCase() === 'authorization' && /^\s*(Bearer)?\s*$/i.test(String(headers[name]))) {
        delete headers[name];
      }
    });
    return base(params, Object.assign({}, options, { headers: headers }));
  }

  var defaultQuery = [
    '# hq-api. Paste a token after "Bearer " in Headers below',
    '# (`hq-api token --role VIEWER` prints one), then run with Ctrl-Enter.',
    '',
    '{',
    '  districts {',
    '    code',
    '    name',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: JSON.stringify({ Authorization: 'Bearer ' }, null, 2),
      defaultEditorToolsVisibility: 'headers',
      headerEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
