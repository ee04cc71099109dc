// The target syntax the resolvers take. It is defined in common/ (config/ parses targets too);
// resolver code and the library's users import it from here.
export * from '../common/target.js';
