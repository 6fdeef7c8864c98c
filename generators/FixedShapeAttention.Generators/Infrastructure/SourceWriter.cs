using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace FixedShapeAttention.Generators.Infrastructure;

/// <summary>An indented text writer whose <see cref="Block"/> opens a brace block closed by <c>Dispose</c>.</summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _builder = new();
    private int _indent;

    public void Line(string text = "")
    {
        if (text.Length > 0)
        {
            for (int i = 0; i < _indent; i++)
            {
                _builder.Append(IndentUnit);
            }

            _builder.Append(text);
        }

        _builder.Append('\n');
    }

    /// <summary>The widest line the writer produces when it wraps a list (<see cref="List"/>).</summary>
    public const int MaxWidth = 160;

    /// <summary>
    /// <paramref name="head"/>, the <paramref name="items"/> separated by commas, and <paramref name="tail"/> on one
    /// line when it fits <see cref="MaxWidth"/>; otherwise the items continue on lines indented one level deeper, as
    /// many per line as fit. For parameter lists and argument lists; in a documentation comment
    /// (<paramref name="commentPrefix"/> <c>"/// "</c>) the continuation lines start with the prefix instead.
    /// </summary>
    public void List(string head, IEnumerable<string> items, string tail, string? commentPrefix = null)
    {
        string[] all = items.ToArray();
        string oneLine = head + string.Join(", ", all) + tail;
        if (IndentWidth + oneLine.Length <= MaxWidth)
        {
            Line(oneLine);
            return;
        }

        // Code: the head alone, the items one level deeper. Comment: the items follow the head, continuation lines
        // start with the comment prefix.
        string continuation = commentPrefix is null ? IndentUnit : commentPrefix + " ";
        string current = commentPrefix is null ? continuation : head;
        if (commentPrefix is null)
        {
            Line(head.TrimEnd());
        }

        bool empty = true;
        for (int i = 0; i < all.Length; i++)
        {
            string item = all[i] + (i == all.Length - 1 ? tail : ",");
            if (!empty && IndentWidth + current.Length + 1 + item.Length > MaxWidth)
            {
                Line(current);
                current = continuation;
                empty = true;
            }

            current += (empty ? "" : " ") + item;
            empty = false;
        }

        Line(current);
    }

    /// <summary>The current indentation in characters.</summary>
    public int IndentWidth => _indent * IndentUnit.Length;

    /// <summary>Writes text another writer produced, each line at this writer's indentation on top of its own.</summary>
    public void Lines(string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        foreach (string line in text.TrimEnd('\n').Split('\n'))
        {
            Line(line);
        }
    }

    /// <summary>Writes <paramref name="header"/>, an opening brace, and indents until the returned scope is disposed.</summary>
    public Scope Block(string header)
    {
        Line(header);
        return Block();
    }

    /// <summary>Opens a bare brace block.</summary>
    public Scope Block()
    {
        Line("{");
        _indent++;
        return new Scope(this);
    }

    /// <summary>
    /// <c>for (int {variable} = {start}; {variable} &lt; {end}; {variable} += {step})</c> around <paramref name="body"/>, or
    /// the body once with the variable folded to <paramref name="start"/> when <paramref name="end"/> is a constant that
    /// allows one iteration only. The body receives the variable's expression.
    /// </summary>
    public void Loop(string variable, string start, string end, int step, Action<string> body)
    {
        if (int.TryParse(start, out int first) && int.TryParse(end, out int last) && last - first <= step)
        {
            if (last > first)
            {
                body(start);
            }

            return;
        }

        using (Block($"for (int {variable} = {start}; {variable} < {end}; {variable} += {step})"))
        {
            body(variable);
        }
    }

    public override string ToString() => _builder.ToString();

    public readonly struct Scope : IDisposable
    {
        private readonly SourceWriter _writer;

        public Scope(SourceWriter writer) => _writer = writer;

        public void Dispose()
        {
            _writer._indent--;
            _writer.Line("}");
        }
    }
}
