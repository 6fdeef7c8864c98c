using System.Linq;
using Microsoft.CodeAnalysis.CSharp;

namespace FixedShapeAttention.Generators.Model;

/// <summary>
/// Where the annotated class lives: its namespace (empty for the global one) and the declarations that contain
/// it, outermost first, each as the keywords and name to re-open it with (for example "partial class Outer").
/// Namespace and ContainingTypes are C# text, with keyword identifiers escaped (<c>@class</c>); Name is the plain
/// identifier (<see cref="DeclaredName"/> is its C# spelling).
/// </summary>
internal sealed record TypeHierarchy(string Namespace, EquatableArray<string> ContainingTypes, string Name)
{
    /// <summary>The name as C# source spells it: a keyword used as an identifier needs '@' (<c>partial class @event</c>).</summary>
    public string DeclaredName => EscapeIdentifier(Name);

    public static string EscapeIdentifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    /// <summary>"class" or "record": the keyword the annotated type is re-opened with.</summary>
    public string Keyword { get; init; } = "class";

    /// <summary>The fully qualified metadata-ish name used for hint names, e.g. <c>Demo.Outer.MiniLm</c>.</summary>
    public string HintPrefix
    {
        get
        {
            string containing = string.Join(".", ContainingTypes.AsSpan().ToArray().Select(LastWord));
            string prefix = Namespace.Length == 0 ? "" : Namespace + ".";
            // '@' is not allowed in a hint name; it only ever marks an escaped keyword, so dropping it loses nothing.
            return (prefix + (containing.Length == 0 ? "" : containing + ".") + Name).Replace("@", "");
        }
    }

    private static string LastWord(string declaration)
    {
        int space = declaration.LastIndexOf(' ');
        string name = space < 0 ? declaration : declaration.Substring(space + 1);
        int generic = name.IndexOf('<');
        return generic < 0 ? name : name.Substring(0, generic);
    }
}
