/**
 * The derived-feature expression language: a small, safe language a spec uses to define features
 * from its source's columns (ratios, logs, clipping, conditions on categories, date parts), parsed
 * by hand, checked against the columns' types and evaluated column by column; never JavaScript.
 */
export * from './error';
export { isBareName } from './tokens';
export * from './syntax';
export * from './check';
export * from './evaluate';
export * from './derived';
export { parseDateLiteral } from './calendar';
