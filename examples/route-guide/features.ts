// The route guide's map: a deterministic grid of named features plus the geometry the server
// needs (lookup, rectangle test, distance).

/** Latitude and longitude in degrees × 10^7, as in route_guide.proto. */
export interface Point {
  latitude: number;
  longitude: number;
}

/** Two opposite corners; either order is accepted. */
export interface Rectangle {
  lo: Point | null;
  hi: Point | null;
}

/** A named place; an empty name means "no feature here". */
export interface Feature {
  name: string;
  location: Point | null;
}

/** A message left at a point. */
export interface RouteNote {
  location: Point | null;
  message: string;
}

/** RecordRoute's answer. `distance` is in metres, `elapsedTime` in seconds. */
export interface RouteSummary {
  pointCount: number;
  featureCount: number;
  distance: number;
  elapsedTime: number;
}

/** Degrees → the protocol's fixed-point unit. */
export const COORD_FACTOR = 1e7;

/** The grid: FEATURE_ROWS × FEATURE_COLUMNS features, GRID_STEP apart, from GRID_ORIGIN. */
export const FEATURE_ROWS = 10;
export const FEATURE_COLUMNS = 10;
/** 0.01° ≈ 1.1 km of latitude, so a route across the grid is a few kilometres long. */
export const GRID_STEP = 100_000;
export const GRID_ORIGIN: Readonly<Point> = { latitude: 407_000_000, longitude: -741_000_000 };

const ROW_WORDS = [
  'Amber',
  'Birch',
  'Cedar',
  'Delta',
  'Elm',
  'Fern',
  'Granite',
  'Harbor',
  'Iris',
  'Juniper',
];
const COLUMN_WORDS = [
  'Bridge',
  'Crossing',
  'Gate',
  'Hill',
  'Landing',
  'Mill',
  'Point',
  'Square',
  'Tower',
  'Yard',
];

/** The grid point at (row, column); row grows north, column grows east. */
export function gridPoint(row: number, column: number): Point {
  return {
    latitude: GRID_ORIGIN.latitude + row * GRID_STEP,
    longitude: GRID_ORIGIN.longitude + column * GRID_STEP,
  };
}

/**
 * The example's 100 features, one per grid point, named "<row word> <column word>"
 * (e.g. "Cedar Mill"). The same on every call and every machine.
 */
export function generateFeatures(): Feature[] {
  const features: Feature[] = [];
  for (let row = 0; row < FEATURE_ROWS; row++) {
    for (let column = 0; column < FEATURE_COLUMNS; column++) {
      features.push({
        name: `${ROW_WORDS[row]} ${COLUMN_WORDS[column]}`,
        location: gridPoint(row, column),
      });
    }
  }
  return features;
}

/** Index of features by exact location, for O(1) GetFeature and RecordRoute lookups. */
export class FeatureMap {
  readonly features: readonly Feature[];
  private readonly byLocation = new Map<string, Feature>();

  constructor(features: readonly Feature[] = generateFeatures()) {
    this.features = features;
    for (const feature of features) {
      if (feature.location) this.byLocation.set(locationKey(feature.location), feature);
    }
  }

  /** The feature at `point`, or undefined. */
  at(point: Point): Feature | undefined {
    return this.byLocation.get(locationKey(point));
  }
}

/** A stable string key for a point. */
export function locationKey(point: Point): string {
  return `${point.latitude},${point.longitude}`;
}

/** Whether `point` lies inside `rect` (edges included, corners in either order). */
export function inRectangle(point: Point, rect: Rectangle): boolean {
  const lo = rect.lo ?? { latitude: 0, longitude: 0 };
  const hi = rect.hi ?? { latitude: 0, longitude: 0 };
  const left = Math.min(lo.longitude, hi.longitude);
  const right = Math.max(lo.longitude, hi.longitude);
  const bottom = Math.min(lo.latitude, hi.latitude);
  const top = Math.max(lo.latitude, hi.latitude);
  return (
    point.longitude >= left &&
    point.longitude <= right &&
    point.latitude >= bottom &&
    point.latitude <= top
  );
}

const EARTH_RADIUS_M = 6_371_000;

/** Great-circle (haversine) distance between two points, in whole metres. */
export function distanceMeters(a: Point, b: Point): number {
  const toRadians = (fixed: number): number => ((fixed / COORD_FACTOR) * Math.PI) / 180;
  const lat1 = toRadians(a.latitude);
  const lat2 = toRadians(b.latitude);
  const dLat = lat2 - lat1;
  const dLon = toRadians(b.longitude) - toRadians(a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  return Math.round(2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h))));
}
