import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the operations in src/, generated from the repository's exported SDL
// (never from a running server), so `npm run check` fails when schema.graphql changes in a way
// that breaks one of them.
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  // No operation found is a mistake (a moved file, a broken glob), not an empty success.
  ignoreNoDocuments: false,
  errorsOnInvalidConfig: true,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // The example reads whole selections; no fragments to mask.
        fragmentMasking: false,
      },
      config: {
        // Every scalar of the API is a JSON string; JSON is free-form. A scalar added to the
        // schema without a mapping here fails the generation.
        scalars: {
          Decimal: 'string',
          Date: 'string',
          DateTime: 'string',
          JSON: 'unknown',
        },
        strictScalars: true,
        // Enums as string-literal unions (`'RENT' | 'PURCHASE'`), the values sent on the wire.
        enumType: 'string-literal',
        // Plain strings carrying their types: sent as-is with `fetch`, no graphql-js at run time.
        documentMode: 'string',
        useTypeImports: true,
        immutableTypes: true,
      },
    },
  },
};

export default config;
