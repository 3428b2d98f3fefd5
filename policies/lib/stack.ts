/**
 * Helpers of the stack policies: violations attached to a resource and the stack's resources in plain form.
 */
import { ResourceLike, plainProps } from "./values";
/** A violation found by a stack policy, attached to one resource. */
export interface StackViolation {
    /** URN of the resource at fault. */
    urn: string;
    /** The message. */
    message: string;
}

/** The stack's resources with plain props (see plainProps). */
export function plainResources(resources: readonly ResourceLike[]): ResourceLike[] {
    return resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: plainProps(r.props) }));
}
